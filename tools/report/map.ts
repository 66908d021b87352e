// The pruning map of the report: for a few test images, which visual tokens each method let into the
// LLM's last layer at the same budget, as one picture (rows = images, columns = methods; dropped tokens
// dimmed). Drawn as SVG with each image embedded as a PNG, then screenshotted like the charts.
import type { MethodName, Model, PolicyKnobs } from "../../wasm/index";
import { itemImage, type EvalItem } from "../eval/data";
import { policyFor } from "../eval/run";
import { rgbToPng } from "../shapesvqa/png";

/** Pixels per image pixel in the picture. */
const SCALE = 2;

/** One column: a method and the knobs it runs with. */
export interface MapColumn {
  method: MethodName;
  knobs: PolicyKnobs;
  label: string;
}

/** Grid indices of the visual tokens entering the last LLM layer, per item and column. */
export async function keptTokens(
  model: Model,
  items: EvalItem[],
  columns: MapColumn[],
): Promise<number[][][]> {
  const out: number[][][] = [];
  for (const [i, it] of items.entries()) {
    const row: number[][] = [];
    for (const c of columns) {
      const policy = await policyFor(model, c.method, c.knobs, it, i);
      const done = await model.run(itemImage(it), it.qIds, { maxTokens: 1, policy });
      row.push(done.stats.visualTokens.indexPerLayer.at(-1)!);
    }
    out.push(row);
  }
  return out;
}

/** The map as SVG: `kept[i][c]` grid indices of item i under column c, on a `grid` x `grid` token grid. */
export function mapSvg(
  items: EvalItem[],
  columns: MapColumn[],
  kept: number[][][],
  grid: number,
  size: number,
): string {
  const cell = size * SCALE;
  const pad = 10;
  const head = 40;
  const W = pad + columns.length * (cell + pad);
  const H = head + items.length * (cell + pad + 16);
  const patch = cell / grid;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  columns.forEach((c, j) =>
    parts.push(
      `<text x="${pad + j * (cell + pad) + cell / 2}" y="24" text-anchor="middle">${c.label}</text>`,
    ),
  );
  items.forEach((it, i) => {
    const y = head + i * (cell + pad + 16);
    const png = Buffer.from(rgbToPng(size, size, it.image)).toString("base64");
    parts.push(`<text x="${pad}" y="${y + cell + 13}">${it.question} (${it.answer})</text>`);
    columns.forEach((_, j) => {
      const x = pad + j * (cell + pad);
      parts.push(
        `<image x="${x}" y="${y}" width="${cell}" height="${cell}" href="data:image/png;base64,${png}" style="image-rendering:pixelated"/>`,
      );
      const alive = new Set(kept[i][j]);
      for (let g = 0; g < grid * grid; g++) {
        if (alive.has(g)) continue;
        const gx = x + (g % grid) * patch;
        const gy = y + Math.floor(g / grid) * patch;
        parts.push(
          `<rect x="${gx}" y="${gy}" width="${patch}" height="${patch}" fill="black" fill-opacity="0.72"/>`,
        );
      }
    });
  });
  parts.push("</svg>");
  return parts.join("\n");
}
