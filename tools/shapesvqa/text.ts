// Draws text into an RGB buffer for the contact sheet, with the "Seven plus" 7 px pixel font of
// js-pixel-fonts (a glyph table rendered to 0/1 rows; no canvas, no system fonts).
import { fonts, renderPixels } from "js-pixel-fonts";

/** Height of one text line in font pixels (7 px glyphs + descender/spacing room). */
export const LINE_HEIGHT = 10;

/** An RGB canvas: width x height x 3 bytes, row-major. */
export interface Canvas {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

/** A canvas filled with one colour. */
export function canvas(width: number, height: number, fill: readonly number[] = [255, 255, 255]): Canvas {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = fill[i % 3];
  return { width, height, rgb };
}

/** Width in font pixels of `text` when drawn. */
export function textWidth(text: string): number {
  return text.length === 0 ? 0 : (renderPixels(text, fonts.sevenPlus)[0]?.length ?? 0);
}

/** Draws one line of text with its top-left corner at (x, y), each font pixel a scale x scale block. */
export function drawText(
  c: Canvas,
  x: number,
  y: number,
  text: string,
  colour: readonly number[],
  scale = 1,
): void {
  if (text.length === 0) return;
  const rows = renderPixels(text, fonts.sevenPlus);
  rows.forEach((row, j) =>
    row.forEach((on, i) => {
      if (!on) return;
      for (let dy = 0; dy < scale; dy++) {
        for (let dx = 0; dx < scale; dx++) {
          const px = x + i * scale + dx;
          const py = y + j * scale + dy;
          if (px < 0 || py < 0 || px >= c.width || py >= c.height) continue;
          c.rgb.set(colour.slice(0, 3), (py * c.width + px) * 3);
        }
      }
    }),
  );
}

/** Greedy word wrap so that each line is at most `maxWidth` font pixels wide. */
export function wrap(text: string, maxWidth: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const next = line ? `${line} ${word}` : word;
    if (line && textWidth(next) > maxWidth) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

/** Copies an RGB image into the canvas at (x, y). */
export function blit(c: Canvas, x: number, y: number, w: number, h: number, rgb: Uint8Array): void {
  for (let j = 0; j < h; j++)
    c.rgb.set(rgb.subarray(j * w * 3, (j + 1) * w * 3), ((y + j) * c.width + x) * 3);
}
