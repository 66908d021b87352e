// npm run data:export -- --help prints the flags (USAGE below).
// Writes each scene as DIR/NNNNNN.png plus DIR/questions.jsonl: {"image", "question", "answer", "family"}
// per line, for people and for tools that want ordinary image files (the eval tool, the Worker demo).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateSplit } from "../dataset";
import { rgbToPng } from "../png";
import { renderScene } from "../render";
import { IMAGE_SIZE } from "../scene";
import { parseSplitArgs } from "./args";

const USAGE = `usage: npm run data:export -- (--split val|test | --seed S --count N) --out DIR`;
const { spec, out } = parseSplitArgs("data:export", USAGE);
mkdirSync(out, { recursive: true });
const lines: string[] = [];
let images = 0;
for (const img of generateSplit(spec)) {
  const name = `${String(img.index).padStart(6, "0")}.png`;
  writeFileSync(join(out, name), rgbToPng(IMAGE_SIZE, IMAGE_SIZE, renderScene(img.scene)));
  for (const qa of img.qas) {
    lines.push(
      JSON.stringify({ image: name, question: qa.question, answer: qa.answer, family: qa.family }) + "\n",
    );
  }
  images++;
}
writeFileSync(join(out, "questions.jsonl"), lines.join(""));
console.log(`${out}: ${images} PNG images, ${lines.length} questions`);
