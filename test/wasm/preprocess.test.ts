// Image preprocessing: the model's own size passes through bit for bit as the reference normalises it;
// other sizes are area-averaged or bilinear-resized and letterboxed (centred, mean-padded).
import { describe, expect, it } from "vitest";
import { loadModel, MemorySource } from "../../wasm/index";
import { preprocess, resampleTaps } from "../../wasm/model/preprocess";
import { BUILDS } from "../helpers/kernels";
import { randomImage, tinyModelFiles } from "./helpers/tiny";

async function engineOf() {
  const model = await loadModel(new MemorySource(tinyModelFiles()), { kernels: BUILDS[0].module });
  // the Engine is private to the Model; preprocess only needs cfg and the memory
  return (model as unknown as { engine: Parameters<typeof preprocess>[0] }).engine;
}

const S = 16; // TINY_CONFIG image size
const pixels = (e: Parameters<typeof preprocess>[0]) =>
  new Float32Array(e.ops.k.memory.buffer, e.b.pixels, 3 * S * S).slice();

describe("preprocess", () => {
  it("passes an image of the model's size through with the reference's normalisation", async () => {
    const e = await engineOf();
    const img = randomImage(S, S);
    preprocess(e, img);
    const px = pixels(e);
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < S * S; i++) {
        const want = Math.fround(Math.fround(Math.fround(img.data[i * 3 + c] / 255) - 0.5) / 0.5);
        expect(px[c * S * S + i]).toBe(want);
      }
  });

  it("passes an RGBA image of the model's size through the same way (alpha ignored)", async () => {
    const e = await engineOf();
    const img = randomImage(S, S, 4);
    const rgba = new Uint8Array(S * S * 4);
    for (let i = 0; i < S * S; i++) rgba.set([...img.data.subarray(i * 3, i * 3 + 3), 200], i * 4);
    preprocess(e, img);
    const rgb = pixels(e);
    preprocess(e, { data: rgba, width: S, height: S });
    expect(pixels(e)).toEqual(rgb);
  });

  it("area-averages a 2x larger RGBA image (alpha ignored)", async () => {
    const e = await engineOf();
    const big = randomImage(2 * S, 2 * S, 9);
    const rgba = new Uint8Array(4 * S * S * 4);
    for (let i = 0; i < 4 * S * S; i++) rgba.set([...big.data.subarray(i * 3, i * 3 + 3), 17], i * 4);
    preprocess(e, { data: rgba, width: 2 * S, height: 2 * S });
    const px = pixels(e);
    const at = (x: number, y: number, c: number) => big.data[(y * 2 * S + x) * 3 + c];
    for (const [x, y, c] of [
      [0, 0, 0],
      [5, 7, 1],
      [15, 15, 2],
    ]) {
      const mean =
        (at(2 * x, 2 * y, c) +
          at(2 * x + 1, 2 * y, c) +
          at(2 * x, 2 * y + 1, c) +
          at(2 * x + 1, 2 * y + 1, c)) /
        4;
      expect(px[c * S * S + y * S + x]).toBeCloseTo((mean / 255 - 0.5) / 0.5, 5);
    }
  });

  it("letterboxes a wide image: centred, top and bottom bands at the mean (0)", async () => {
    const e = await engineOf();
    const wide = { data: new Uint8Array(2 * S * S * 3).fill(255), width: 2 * S, height: S }; // 32 x 16 white
    const box = preprocess(e, wide);
    expect(box).toEqual({ left: 0, top: 4, width: 16, height: 8 });
    const px = pixels(e);
    expect(px[0 * S + 3]).toBe(0); // row 0: band
    expect(px[3 * S + 8]).toBe(0); // row 3: band
    expect(px[4 * S + 8]).toBeCloseTo(1, 6); // row 4: image (white -> 1)
    expect(px[11 * S + 0]).toBeCloseTo(1, 6);
    expect(px[12 * S + 0]).toBe(0);
  });

  it("builds resampling taps that sum to one (area down, bilinear up, identity at 1:1)", () => {
    for (const [n, m] of [
      [96, 96],
      [200, 96],
      [37, 96],
      [96, 13],
    ]) {
      const t = resampleTaps(n, m);
      for (const w of t.weights) expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
    const id = resampleTaps(96, 96);
    id.weights.forEach((w, i) => {
      expect([...w]).toEqual([1]);
      expect(id.start[i]).toBe(i);
    });
  });

  it("rejects bytes that do not match the size", async () => {
    const e = await engineOf();
    expect(() => preprocess(e, { data: new Uint8Array(10), width: 4, height: 4 })).toThrow(/RGB or RGBA/);
  });
});
