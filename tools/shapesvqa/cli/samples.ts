// npm run data:samples -- --help prints the flags (USAGE below).
// A contact sheet of the first val scenes, each upscaled 3x beside its questions and answers, for people
// to check that shapes are recognisable, colours distinct and answers right.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { generateSplit, splitSpec } from "../dataset";
import { rgbToPng, upscale } from "../png";
import { renderScene } from "../render";
import { IMAGE_SIZE } from "../scene";
import { blit, canvas, drawText, LINE_HEIGHT, wrap } from "../text";
import { parseFlags } from "../../flags";

const USAGE = `usage: npm run data:samples -- [--out docs/samples.png] [--count 12]`;

const ZOOM = 3;
const TEXT_SCALE = 2;
const TEXT_W = 600;
const PAD = 12;
const COLS = 2;

const { values } = parseFlags("data:samples", USAGE, { out: { type: "string" }, count: { type: "string" } });
const out = values.out ?? "docs/samples.png";
const count = Number(values.count ?? 12);

const tile = IMAGE_SIZE * ZOOM;
const cellW = tile + TEXT_W + 2 * PAD;
const cellH = tile + 2 * PAD;
const rows = Math.ceil(count / COLS);
const sheet = canvas(COLS * cellW, rows * cellH + PAD, [250, 250, 250]);
const ink = [20, 20, 20];
const answerInk = [0, 90, 200];

let k = 0;
for (const img of generateSplit(splitSpec("val"))) {
  if (k === count) break;
  const x = (k % COLS) * cellW + PAD;
  const y = Math.floor(k / COLS) * cellH + PAD;
  blit(sheet, x, y, tile, tile, upscale(IMAGE_SIZE, IMAGE_SIZE, renderScene(img.scene), ZOOM));
  let ty = y;
  const tx = x + tile + PAD;
  drawText(sheet, tx, ty, `#${img.index}  objects: ${img.scene.objects.length}`, ink, TEXT_SCALE);
  ty += LINE_HEIGHT * TEXT_SCALE + 4;
  for (const qa of img.qas) {
    for (const line of wrap(`${qa.family}: ${qa.question}`, TEXT_W / TEXT_SCALE)) {
      drawText(sheet, tx, ty, line, ink, TEXT_SCALE);
      ty += LINE_HEIGHT * TEXT_SCALE;
    }
    for (const line of wrap(`-> ${qa.answer}`, TEXT_W / TEXT_SCALE)) {
      drawText(sheet, tx, ty, line, answerInk, TEXT_SCALE);
      ty += LINE_HEIGHT * TEXT_SCALE;
    }
    ty += 4;
  }
  k++;
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, rgbToPng(sheet.width, sheet.height, sheet.rgb));
console.log(`wrote ${out} (${k} scenes, ${sheet.width}x${sheet.height})`);
