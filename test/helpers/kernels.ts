// Both kernel builds, instantiated for tests: the same suites run against `relaxed` and `simd`. The
// variants each suite checks come from the kernel table (wasm/kernels.ts), so a new row is tested by the
// suite of its op without editing it.
import relaxedModule from "../../wasm/build/kernels.relaxed.wasm";
import simdModule from "../../wasm/build/kernels.simd.wasm";
import { ensureMemory, heapStart, scratchRegion, type Region } from "../../wasm/arena";
import {
  instantiateKernels,
  kernelName,
  KERNELS,
  isRelaxed,
  ISAS,
  type Isa,
  type KernelRow,
  type Kernels,
  type Signatures,
} from "../../wasm/kernels";

export const BUILDS = [
  { name: "relaxed", module: relaxedModule },
  { name: "simd", module: simdModule },
] as const;
export type BuildName = (typeof BUILDS)[number]["name"];

/** Instantiates one build with at least `bytes` of linear memory free above its heap base. */
export async function loadBuild(module: WebAssembly.Module, bytes = 1 << 20): Promise<Kernels> {
  const k = await instantiateKernels(module);
  ensureMemory(k, heapStart(k) + bytes);
  return k;
}

/** The test buffers' allocator: the project's Region over `k`, growing memory as needed. */
export type Arena = Region;
export const arena = (k: Kernels): Arena => scratchRegion(k, "test");

/** Rows of `dtype`_`op` that `build` can run, scalar reference first. */
function rowsOf(dtype: string, op: string, build: BuildName): KernelRow[] {
  const rows = KERNELS.filter(
    (r) => r.dtype === dtype && r.op === op && (!isRelaxed(r.isa) || build === "relaxed"),
  );
  if (rows[0]?.isa !== "scalar") throw new Error(`kernel table: ${dtype}_${op} lacks a __scalar row first`);
  return rows.sort((a, b) => ISAS.indexOf(a.isa) - ISAS.indexOf(b.isa));
}

/** ISAs of the table's variants of `dtype`_`op` that `build` runs, scalar first (for it.each tables). */
export function isasOf(dtype: string, op: string, build: BuildName): Isa[] {
  return rowsOf(dtype, op, build).map((r) => r.isa);
}

/** Export names of the table's variants of `dtype`_`op` that `build` runs, scalar first. */
export function namesOf(dtype: string, op: string, build: BuildName): string[] {
  return rowsOf(dtype, op, build).map(kernelName);
}

/** `k`'s export `name`, typed by signature `sig` (checked against the table). */
export function kernelByName<S extends keyof Signatures>(k: Kernels, name: string, sig: S): Signatures[S] {
  const r = KERNELS.find((row) => kernelName(row) === name);
  if (!r || r.sig !== sig) throw new Error(`kernel table has no ${name} with signature ${sig}`);
  return (k.exports as unknown as Record<string, Signatures[S]>)[name];
}

/** `k`'s variant `isa` of `dtype`_`op`, typed by signature `sig`. */
export function kernelOf<S extends keyof Signatures>(
  k: Kernels,
  dtype: string,
  op: string,
  isa: Isa,
  sig: S,
): Signatures[S] {
  const r = KERNELS.find((row) => row.dtype === dtype && row.op === op && row.isa === isa);
  if (!r) throw new Error(`kernel table has no ${isa} variant of ${dtype}_${op}`);
  return kernelByName(k, kernelName(r), sig);
}

/** Deterministic PRNG (mulberry32) for reproducible random inputs: the engine's own. */
export { seeded as rng } from "../../wasm/engine/random";
