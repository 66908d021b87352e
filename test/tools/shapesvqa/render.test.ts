import { describe, expect, it } from "vitest";
import { IMAGE_BYTES, insideShape, renderScene } from "../../../tools/shapesvqa/render";
import { hashSeed, Rng } from "../../../tools/shapesvqa/rng";
import { IMAGE_SIZE, sampleScene, type Scene } from "../../../tools/shapesvqa/scene";
import { COLOURS, SHAPES, type ShapeName } from "../../../tools/shapesvqa/vocab";

/** Filled pixels of a shape in a size x size box (pixel centres in doubled units). */
function area(shape: ShapeName, size: number): number {
  let n = 0;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) if (insideShape(shape, 2 * x + 1 - size, 2 * y + 1 - size, size)) n++;
  return n;
}

/** Smallest RGB distance between a named colour and any grey a background can reach (base +/- ranges). */
const BACKGROUND_MIN = 85 - 8 - 30 - 8;
const BACKGROUND_MAX = 135 + 8 + 30 + 8;

describe("insideShape", () => {
  it("fills a plausible fraction of the box for each shape, distinct between shapes", () => {
    const frac = Object.fromEntries(SHAPES.map((s) => [s, area(s, 20) / 400]));
    expect(frac.square).toBe(1);
    expect(frac.circle).toBeCloseTo(Math.PI / 4, 1);
    for (const s of ["diamond", "triangle"]) {
      expect(frac[s]).toBeGreaterThan(0.45); // half the box, plus the pixelised edge
      expect(frac[s]).toBeLessThan(0.6);
    }
    expect(frac.cross).toBeGreaterThan(0.4);
    expect(frac.cross).toBeLessThan(0.65);
    expect(frac.star).toBeGreaterThan(0.2);
    expect(frac.star).toBeLessThan(0.45);
  });

  it("keeps every shape symmetric left-right", () => {
    for (const s of SHAPES)
      for (let dy = -19; dy <= 19; dy += 2)
        for (let dx = 1; dx <= 19; dx += 2)
          expect(insideShape(s, dx, dy, 20)).toBe(insideShape(s, -dx, dy, 20));
  });
});

describe("renderScene", () => {
  const scenes: Scene[] = Array.from({ length: 50 }, (_, i) => sampleScene(new Rng(hashSeed(5, i))));

  it("is deterministic and writes at the given offset", () => {
    const a = renderScene(scenes[0]);
    const b = new Uint8Array(IMAGE_BYTES * 2);
    renderScene(scenes[0], b, IMAGE_BYTES);
    expect(b.subarray(IMAGE_BYTES)).toEqual(a);
    expect(b.subarray(0, IMAGE_BYTES).every((v) => v === 0)).toBe(true);
  });

  it("paints each object's colour at its centre and keeps the background smooth and grey", () => {
    for (const s of scenes) {
      const img = renderScene(s);
      const covered = new Uint8Array(IMAGE_SIZE * IMAGE_SIZE);
      for (const o of s.objects) {
        for (let y = o.y0; y < o.y0 + o.size; y++)
          for (let x = o.x0; x < o.x0 + o.size; x++) covered[y * IMAGE_SIZE + x] = 1;
        const cx = o.x0 + (o.size >> 1);
        const cy = o.y0 + (o.size >> 1);
        const p = (cy * IMAGE_SIZE + cx) * 3;
        expect([img[p], img[p + 1], img[p + 2]]).toEqual([...o.rgb]);
      }
      const values = new Set<number>();
      let maxStep = 0;
      for (let y = 0; y < IMAGE_SIZE; y++) {
        for (let x = 0; x + 1 < IMAGE_SIZE; x++) {
          const i = y * IMAGE_SIZE + x;
          if (covered[i] || covered[i + 1]) continue;
          values.add(img[i * 3]);
          maxStep = Math.max(maxStep, Math.abs(img[i * 3] - img[i * 3 + 3]));
        }
      }
      expect(Math.min(...values)).toBeGreaterThanOrEqual(BACKGROUND_MIN);
      expect(Math.max(...values)).toBeLessThanOrEqual(BACKGROUND_MAX);
      expect(maxStep).toBeLessThanOrEqual(3); // smooth: horizontal neighbours differ by a few levels
      expect(values.size).toBeGreaterThan(4); // not a flat colour
    }
  });

  it("keeps named colours far from each other and from the background range", () => {
    const d = (a: readonly number[], b: readonly number[]) =>
      Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    for (let i = 0; i < COLOURS.length; i++) {
      for (let j = i + 1; j < COLOURS.length; j++)
        expect(d(COLOURS[i].rgb, COLOURS[j].rgb)).toBeGreaterThan(80);
      for (let g = BACKGROUND_MIN; g <= BACKGROUND_MAX; g += 4)
        expect(d(COLOURS[i].rgb, [g, g, g])).toBeGreaterThan(80);
    }
  });
});
