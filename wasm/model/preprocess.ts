// Image preprocessing: any RGB or RGBA u8 image -> pixel_values [C, S, S] (S = vision image_size) with the
// reference's normalisation (training/model.py pixels_from_u8: x / 255, then (x - mean) / std per channel,
// in f32, channel-first).
// Aspect ratio: LETTERBOX. The image is scaled to fit S x S keeping its aspect ratio, centred, and the
// borders filled with the normalisation mean (0 after normalising): shapes stay undistorted (a circle
// stays a circle, which the shape questions depend on) and left/right/top/bottom stay where they were.
// Resampling is separable: area averaging (exact box coverage) when shrinking, bilinear (half-pixel
// centres, edge clamped) when enlarging. An S x S image passes through unchanged: identity weights,
// so ShapesVQA images give bit for bit the values the reference computes.
// Alpha (RGBA) is ignored, as the pixels of a decoded PNG/JPEG are given.
import type { Ptr } from "../kernels";
import { f32View, type Engine } from "../engine/context";

/** An image as decoded bytes: row-major, `channels` interleaved u8 per pixel. */
export interface ImageInput {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA); default: inferred from data.length. */
  channels?: 3 | 4;
}

/** Per output pixel: the first source index and its weights (sum 1). */
interface Taps {
  start: Int32Array;
  weights: Float64Array[];
}

/** 1-D resampling weights from `n` source pixels to `m` output pixels. */
export function resampleTaps(n: number, m: number): Taps {
  const start = new Int32Array(m);
  const weights: Float64Array[] = [];
  const scale = n / m;
  for (let o = 0; o < m; o++) {
    if (scale >= 1) {
      // area: output pixel o covers source [o*scale, (o+1)*scale)
      const x0 = o * scale;
      const x1 = x0 + scale;
      const i0 = Math.floor(x0);
      const i1 = Math.min(n, Math.ceil(x1));
      const w = new Float64Array(i1 - i0);
      for (let i = i0; i < i1; i++) w[i - i0] = (Math.min(x1, i + 1) - Math.max(x0, i)) / scale;
      start[o] = i0;
      weights.push(w);
    } else {
      // bilinear at the source coordinate of the output pixel's centre
      const x = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), n - 1);
      const i0 = Math.floor(x);
      const f = x - i0;
      start[o] = i0;
      weights.push(i0 + 1 < n ? Float64Array.of(1 - f, f) : Float64Array.of(1));
    }
  }
  return { start, weights };
}

/** Validates the input and returns its channel count. */
function channelsOf(img: ImageInput): number {
  const { width: w, height: h } = img;
  if (!(Number.isInteger(w) && Number.isInteger(h) && w > 0 && h > 0))
    throw new Error("image: bad width/height");
  const c = img.channels ?? img.data.length / (w * h);
  if ((c !== 3 && c !== 4) || img.data.length !== w * h * c) {
    throw new Error(`image: expected ${w}x${h} RGB or RGBA bytes, got ${img.data.length}`);
  }
  return c;
}

/**
 * Resizes (letterbox) and normalises `img` into pixel_values [C, S, S] at `out` (b.pixels).
 * Returns the box the image occupies inside the S x S frame.
 */
export function preprocess(e: Engine, img: ImageInput, out: Ptr = e.b.pixels) {
  const { imageSize: S, channels: C } = e.cfg.vision;
  if (C !== 3) throw new Error("preprocess: the vision tower must take 3 channels");
  const ch = channelsOf(img);
  const fit = Math.min(S / img.width, S / img.height);
  const w = Math.max(1, Math.min(S, Math.round(img.width * fit)));
  const h = Math.max(1, Math.min(S, Math.round(img.height * fit)));
  const left = Math.floor((S - w) / 2);
  const top = Math.floor((S - h) / 2);
  if (img.width === S && img.height === S) {
    normaliseExact(e, img.data, ch, out);
    return { left, top, width: w, height: h };
  }
  const tx = resampleTaps(img.width, w);
  const ty = resampleTaps(img.height, h);
  // horizontal pass: rows [img.height, w, 3] in f64
  const rows = new Float64Array(img.height * w * 3);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < w; x++) {
      const wt = tx.weights[x];
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let i = 0; i < wt.length; i++) s += wt[i] * img.data[(y * img.width + tx.start[x] + i) * ch + c];
        rows[(y * w + x) * 3 + c] = s;
      }
    }
  }
  const px = f32View(e, out, 3 * S * S);
  px.fill(0); // letterbox borders: the mean, i.e. 0 once normalised
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(e.cfg.imageMean[c]);
    const std = Math.fround(e.cfg.imageStd[c]);
    for (let y = 0; y < h; y++) {
      const wt = ty.weights[y];
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let i = 0; i < wt.length; i++) s += wt[i] * rows[((ty.start[y] + i) * w + x) * 3 + c];
        // as torch in f32: x / 255, then (x - mean) / std
        const v = Math.fround(Math.fround(s) / 255);
        px[c * S * S + (top + y) * S + left + x] = Math.fround(v - mean) / std;
      }
    }
  }
  return { left, top, width: w, height: h };
}

/**
 * An S x S image: no resampling (its weights would be 1), each byte normalised as the general path
 * does, through a 256-entry table per channel (the same f32 values, ~10x faster in JS).
 */
function normaliseExact(e: Engine, data: ImageInput["data"], ch: number, out: Ptr): void {
  const S = e.cfg.vision.imageSize;
  const px = f32View(e, out, 3 * S * S);
  const table = new Float32Array(256);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(e.cfg.imageMean[c]);
    const std = Math.fround(e.cfg.imageStd[c]);
    for (let b = 0; b < 256; b++) table[b] = Math.fround(Math.fround(b / 255) - mean) / std;
    const plane = c * S * S;
    for (let i = 0; i < S * S; i++) px[plane + i] = table[data[i * ch + c]];
  }
}
