// `npm run data:build -- (--split val|test | --split train --seed S --count N [--per-image K]) --out PREFIX`
// Writes PREFIX.images.u8, PREFIX.patches.u8, PREFIX.jsonl and PREFIX.meta.json (build.ts; format in
// data.md), then lists them in READY beside them: the trainer reads only splits that READY lists.
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { buildSplit } from "../build";
import { parseSplitArgs } from "./args";

const { spec, out } = parseSplitArgs(process.argv.slice(2));
const t0 = performance.now();
const meta = buildSplit(spec, out);
const s = (performance.now() - t0) / 1000;
const rate = Math.round((meta.num_images / s) * 60);
console.log(
  `${out}: ${meta.num_images} images, ${meta.num_questions} questions in ${s.toFixed(1)} s (${rate} images/min)`,
);

const ready = join(dirname(out), "READY");
const listed = existsSync(ready) ? readFileSync(ready, "utf8").split("\n") : [];
const files = ["images.u8", "patches.u8", "jsonl", "meta.json"].map((ext) => `${basename(out)}.${ext}`);
const missing = files.filter((f) => !listed.includes(f));
if (missing.length > 0) appendFileSync(ready, missing.join("\n") + "\n");
