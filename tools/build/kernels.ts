// npm run build:kernels -- --help prints the flags (USAGE below).
// Writes assembly/index.ts (the kernel module's export list) from the kernel table in wasm/kernels.ts,
// then compiles the kernel module and the benchmark-only module (assembly/bench/index.ts: the peak loops)
// once per build with AssemblyScript (wasm/kernels.ts KERNEL_BUILDS, asconfig.json targets) into wasm/build/.
// --check only compares assembly/index.ts with the table and fails when it is stale. Tools that load the
// kernels call `ensureKernels()`, which builds only when an output is missing or older than its sources.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { KERNEL_BUILDS, KERNELS, kernelName } from "../../wasm/tools";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run build:kernels [-- --check]`;

/** One export statement as Prettier writes it (printWidth 110): on one line, or one name per line. */
function exportLine(names: string[], from: string): string {
  const line = `export { ${names.join(", ")} } from "${from}";`;
  return line.length <= 110 ? line : `export {\n${names.map((n) => `  ${n},\n`).join("")}} from "${from}";`;
}

/** The export list of the kernel module, one statement per op and source file, in table order. */
export function kernelIndexSource(): string {
  const byFile = new Map<string, string[]>();
  for (const r of KERNELS) {
    const key = `${r.dtype}_${r.op} ${r.file}`;
    byFile.set(key, [...(byFile.get(key) ?? []), kernelName(r)]);
  }
  const lines = [
    "// The kernel module's export list, written by tools/build/kernels.ts from the kernel table",
    "// (wasm/kernels.ts): edit the table, not this file. Built twice (asconfig.json): relaxed and simd.",
    "",
    'export { build_features, heap_base, rdot_probe } from "./features";',
    ...[...byFile].map(([key, names]) => exportLine(names, `./${key.split(" ")[1]}`)),
  ];
  return lines.join("\n") + "\n";
}

/** The module entries compiled, each for every build: [entry, output name prefix]. */
const ENTRIES: [string, string][] = [
  ["assembly/index.ts", "kernels"],
  ["assembly/bench/index.ts", "bench"],
];

const root = fileURLToPath(new URL("../../", import.meta.url));
const indexPath = `${root}assembly/index.ts`;

/** The files every build reads: the AssemblyScript tree, the kernel table and asconfig.json. */
function sources(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(`${dir}/${e.name}`) : [`${dir}/${e.name}`],
    );
  return [...walk(`${root}assembly`), `${root}wasm/kernels.ts`, `${root}asconfig.json`];
}

/** The compiled modules, wasm/build/<name>.<target>.wasm. */
const outputs = () =>
  ENTRIES.flatMap(([, name]) => KERNEL_BUILDS.map((t) => `${root}wasm/build/${name}.${t}.wasm`));

/** Writes assembly/index.ts from the table and compiles every entry for every target. */
export function buildKernels(): void {
  const want = kernelIndexSource();
  if (readFileSync(indexPath, "utf8") !== want) writeFileSync(indexPath, want);
  const asc = `${root}node_modules/.bin/asc`;
  for (const [entry, name] of ENTRIES) {
    for (const target of KERNEL_BUILDS) {
      execFileSync(asc, [entry, "--target", target, "--outFile", `wasm/build/${name}.${target}.wasm`], {
        cwd: root,
        stdio: ["ignore", "inherit", "inherit"],
      });
    }
  }
}

/** Builds the kernels when a module is missing or older than a source (a fresh clone, an edit). */
export function ensureKernels(): void {
  const outs = outputs();
  if (outs.every(existsSync)) {
    const built = Math.min(...outs.map((f) => statSync(f).mtimeMs));
    if (sources().every((f) => statSync(f).mtimeMs <= built)) return;
  }
  process.stderr.write("building the kernels (npm run build:kernels)...\n");
  buildKernels();
}

function main(): void {
  const { values } = parseFlags("build:kernels", USAGE, { check: { type: "boolean", default: false } });
  if (values.check) {
    if (readFileSync(indexPath, "utf8") !== kernelIndexSource())
      throw new Error("assembly/index.ts is stale: run npm run build:kernels");
    return;
  }
  buildKernels();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
