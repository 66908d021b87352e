// npm run convert -- --help prints the flags (USAGE below).
// Reads model.safetensors, config.json and tokenizer.json from --in; writes the shards and manifest.json to
// --out atomically: everything is converted in memory and written to a temporary folder first, so a failed
// conversion leaves the previous weights untouched.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { convert } from "./convert";
import { writeModelDir } from "./write";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run convert -- --in out/atp-tiny --out weights [--quant q8|q4] [--shard-mb 4] [--model-id atp-tiny]`;

const { values } = parseFlags("convert", USAGE, {
  in: { type: "string", default: "out/atp-tiny" },
  out: { type: "string", default: "weights" },
  quant: { type: "string", default: "q8" },
  "shard-mb": { type: "string", default: "4" },
  "model-id": { type: "string", default: "atp-tiny" },
});

function main(): void {
  const quant = values.quant;
  if (quant !== "q8" && quant !== "q4") throw new Error(`--quant must be q8 or q4, got ${quant}`);
  const src = resolve(values.in!);
  const files = convert({
    modelId: values["model-id"]!,
    safetensors: readFileSync(join(src, "model.safetensors")),
    configJson: readFileSync(join(src, "config.json")),
    tokenizerJson: readFileSync(join(src, "tokenizer.json")),
    quantization: quant,
    shardBytes: Number(values["shard-mb"]) * 1024 * 1024,
  });

  const out = resolve(values.out!);
  writeModelDir(files, out);
  let total = 0;
  for (const b of files.values()) total += b.byteLength;
  console.log(`wrote ${files.size} files (${(total / 1e6).toFixed(2)} MB, ${quant}) to ${out}`);
}

try {
  main();
} catch (err) {
  console.error(`convert: ${(err as Error).message}`);
  process.exit(1);
}
