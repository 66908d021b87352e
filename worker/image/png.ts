// PNG -> 8-bit RGB or RGBA through fast-png, after a bounded inflate of the IDAT stream: fast-png inflates
// all of it, and a tiny IHDR can front gigabytes of zlib output, so the stream is first inflated in slices,
// counting bytes, and refused once it exceeds what the header's size needs.
// Grayscale, palette and 16-bit layouts are mapped to 8-bit RGB here (the engine takes RGB or RGBA).
import { convertIndexedToRgb, decode, type DecodedPng } from "fast-png";
import { Unzlib } from "fflate";
import type { ImageInput } from "../../wasm/index";
import { ImageHeaderError } from "./header";

/** Channels per PNG colour type (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA). */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * Most inflated bytes a PNG of this header may hold: filtered rows (one filter byte each) at the header's
 * bit depth, doubled (plus a little) to cover Adam7's per-pass padding. Anything beyond is not a valid
 * image of that size.
 */
function inflateBound(bytes: Uint8Array, view: DataView): number {
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const depth = bytes[24];
  const channels = CHANNELS[bytes[25]];
  if (!channels || ![1, 2, 4, 8, 16].includes(depth)) throw new ImageHeaderError("PNG: bad IHDR", "corrupt");
  return 2 * height * (1 + Math.ceil((width * channels * depth) / 8)) + 1024;
}

/** Concatenated IDAT payloads (the zlib stream). */
function idatStream(bytes: Uint8Array, view: DataView): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let p = 8; p + 8 <= bytes.length;) {
    const len = view.getUint32(p);
    const type = String.fromCharCode(...bytes.subarray(p + 4, p + 8));
    if (p + 12 + len > bytes.length) throw new ImageHeaderError("PNG: truncated chunk", "corrupt");
    if (type === "IDAT") parts.push(bytes.subarray(p + 8, p + 8 + len));
    if (type === "IEND") break;
    p += 12 + len;
  }
  if (parts.length === 0) throw new ImageHeaderError("PNG without image data", "corrupt");
  return parts;
}

/** Compressed bytes pushed to the checking inflater at a time: deflate expands at most ~1032x, so one
 * push inflates at most ~4 MB before the count is checked. (1 KB slices cost 0.7 ms on a 7 KB IDAT in
 * fflate, 4 KB 0.2 ms, the whole stream at once 0.17 ms: measured in Node.) */
const CHECK_SLICE = 4096;

/**
 * Inflates the IDAT stream, throwing once more than `limit` bytes come out. fflate's streaming inflater
 * (fast-png's own inflate library), synchronously: the runtime's DecompressionStream did the same at
 * ~0.4 ms per small image in promise and stream overhead alone.
 */
function checkInflatedSize(parts: Uint8Array[], limit: number): void {
  let total = 0;
  const inflater = new Unzlib((chunk) => {
    total += chunk.byteLength;
    if (total > limit)
      throw new ImageHeaderError("PNG: image data inflates past its declared size", "corrupt");
  });
  try {
    for (const part of parts)
      for (let p = 0; p < part.byteLength; p += CHECK_SLICE) inflater.push(part.subarray(p, p + CHECK_SLICE));
    inflater.push(new Uint8Array(0), true); // the end: a truncated stream throws here
  } catch (err) {
    if (err instanceof ImageHeaderError) throw err;
    throw new ImageHeaderError("PNG: image data does not inflate", "corrupt");
  }
}

/** A gray ramp as a palette: 2^depth levels spread over 0..255. */
function grayPalette(depth: number): number[][] {
  const levels = 1 << depth;
  return Array.from({ length: levels }, (_, i) => {
    const v = Math.round((i * 255) / (levels - 1));
    return [v, v, v];
  });
}

/** 8-bit RGB(A) pixels of any decoded PNG layout. */
function toRgb(png: DecodedPng): ImageInput {
  const { width, height } = png;
  if (png.palette) return { data: convertIndexedToRgb(png), width, height };
  if (png.channels === 1 && png.depth <= 8)
    return { data: convertIndexedToRgb({ ...png, palette: grayPalette(png.depth) }), width, height };
  const shift = png.depth === 16 ? 8 : 0;
  const n = width * height;
  const src = png.data;
  if (png.channels === 3 || png.channels === 4) {
    if (shift === 0) return { data: src as Uint8Array, width, height, channels: png.channels };
    return { data: Uint8Array.from(src, (v) => v >> shift), width, height, channels: png.channels };
  }
  // gray (16-bit) or gray + alpha (8/16-bit): replicate the gray channel
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) out.fill(src[i * png.channels] >> shift, i * 3, i * 3 + 3);
  return { data: out, width, height, channels: 3 };
}

/** Decodes a PNG whose header passed the size limits. Throws ImageHeaderError (corrupt) on bad data. */
export async function decodePng(bytes: Uint8Array): Promise<ImageInput> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkInflatedSize(idatStream(bytes, view), inflateBound(bytes, view));
  try {
    return toRgb(decode(bytes));
  } catch (err) {
    throw new ImageHeaderError(`PNG: ${(err as Error).message}`, "corrupt");
  }
}
