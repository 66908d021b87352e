// npm run data:tokenizer -- --help prints the flags (USAGE below).
// Writes tokenizer.json, tokenizer_config.json and config.json (prompt constants, prompt.ts) side by side.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { promptConfig } from "../prompt";
import { tokenizerConfigJson, tokenizerJson } from "../tokenizer";
import { parseFlags } from "../../flags";

const USAGE = `usage: npm run data:tokenizer -- [--out data/tokenizer.json]`;

const { values } = parseFlags("data:tokenizer", USAGE, { out: { type: "string" } });
const out = values.out ?? "data/tokenizer.json";
const dir = dirname(out);
mkdirSync(dir, { recursive: true });
const write = (path: string, obj: unknown) => writeFileSync(path, JSON.stringify(obj, null, 2) + "\n");
write(out, tokenizerJson());
write(join(dir, "tokenizer_config.json"), tokenizerConfigJson());
write(join(dir, "config.json"), promptConfig());
console.log(`wrote ${out}, ${join(dir, "tokenizer_config.json")}, ${join(dir, "config.json")}`);
