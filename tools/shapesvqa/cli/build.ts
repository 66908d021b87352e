// npm run data:build -- --help prints the flags (USAGE below).
// Writes PREFIX.images.u8, PREFIX.patches.u8, PREFIX.jsonl and PREFIX.meta.json (build.ts; format in
// docs/data.md), then lists them in READY beside them: the trainer reads only splits that READY lists.
import { buildSplit, markReady } from "../build";
import { parseSplitArgs } from "./args";

const USAGE = `usage: npm run data:build -- (--split val|test | --split train --seed S --count N [--per-image K]) --out PREFIX`;
const { spec, out } = parseSplitArgs("data:build", USAGE);
const t0 = performance.now();
const meta = buildSplit(spec, out);
const s = (performance.now() - t0) / 1000;
const rate = Math.round((meta.num_images / s) * 60);
console.log(
  `${out}: ${meta.num_images} images, ${meta.num_questions} questions in ${s.toFixed(1)} s (${rate} images/min)`,
);
markReady(out);
