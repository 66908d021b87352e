// npm run base:build -- --help prints the flags (USAGE below).
// Generates atp-base's weights (tools/base/build.ts) and writes them like `npm run convert` does.
import { resolve } from "node:path";
import { writeModelDir } from "../convert/write";
import { buildBase } from "./build";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run base:build -- [--quant q8|q4] [--seed 1] [--out out/atp-base-q8]`;

const { values } = parseFlags("base:build", USAGE, {
  quant: { type: "string", default: "q8" },
  seed: { type: "string", default: "1" },
  out: { type: "string" },
});
const quant = values.quant;
if (quant !== "q8" && quant !== "q4") {
  console.error(`base:build: --quant must be q8 or q4, got ${quant}`);
  process.exit(1);
}
const t0 = performance.now();
const { files } = buildBase({ quant, seed: Number(values.seed) });
const out = resolve(values.out ?? `out/atp-base-${quant}`);
writeModelDir(files, out);
let total = 0;
for (const b of files.values()) total += b.byteLength;
console.log(
  `wrote atp-base (${quant}, seed ${values.seed}): ${files.size} files, ${(total / 1e6).toFixed(1)} MB, ` +
    `to ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
