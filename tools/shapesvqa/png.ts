// PNG encoding of raw RGB buffers through fast-png, plus a nearest-neighbour upscale for viewing.
import { encode } from "fast-png";

/** PNG bytes of a `width` x `height` RGB image (row-major, 3 bytes per pixel). */
export function rgbToPng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  if (rgb.length !== width * height * 3)
    throw new Error(`rgbToPng: ${rgb.length} bytes for ${width}x${height}`);
  return encode({ width, height, data: rgb, channels: 3, depth: 8 });
}

/** Nearest-neighbour upscale of an RGB image by an integer factor. */
export function upscale(width: number, height: number, rgb: Uint8Array, factor: number): Uint8Array {
  const w = width * factor;
  const out = new Uint8Array(w * height * factor * 3);
  for (let y = 0; y < height * factor; y++) {
    for (let x = 0; x < w; x++) {
      const s = (((y / factor) | 0) * width + ((x / factor) | 0)) * 3;
      const d = (y * w + x) * 3;
      out[d] = rgb[s];
      out[d + 1] = rgb[s + 1];
      out[d + 2] = rgb[s + 2];
    }
  }
  return out;
}
