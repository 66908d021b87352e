// npm run unpack -- --help prints the flags (USAGE below).
// Writes model.safetensors (f32, HF names), config.json and tokenizer.json of the served weights to --out
// (unpack.ts), the input of `training/import_served.py`.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { unpack } from "./unpack";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run unpack -- [--in weights] [--out out/served]`;

const { values } = parseFlags("unpack", USAGE, {
  in: { type: "string", default: "weights" },
  out: { type: "string", default: "out/served" },
});
const src = resolve(values.in!);
const files = new Map<string, Uint8Array>();
for (const f of readdirSync(src))
  if (f.endsWith(".json") || f.endsWith(".bin")) files.set(f, readFileSync(join(src, f)));
const out = resolve(values.out!);
mkdirSync(out, { recursive: true });
const result = unpack(files);
for (const [name, bytes] of result) writeFileSync(join(out, name), bytes);
console.log(`${out}: ${[...result.keys()].join(", ")}`);
