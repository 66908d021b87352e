// A small RGB thumbnail of a request's image, framed as the model sees it: letterboxed into a square
// (the fit and centring of wasm/model/preprocess.ts, the borders black), so the visual-token grid lies
// on it evenly and the dashboard can draw what each pruning stage kept. Sampled, not filtered: each
// thumbnail pixel averages 2 x 2 points of its source box, a bounded cost whatever the image's size.
import type { ImageInput } from "../../wasm/index";

/** Row-major RGB bytes, size x size x 3. */
export interface Thumbnail {
  size: number;
  rgb: Uint8Array;
}

/** Sample points per axis inside each thumbnail pixel's source box. */
const TAPS = 2;

/** The letterboxed thumbnail of `img`, `size` pixels square (the Worker passes the model's input size). */
export function thumbnail(img: ImageInput, size: number): Thumbnail {
  const ch = img.channels ?? img.data.length / (img.width * img.height);
  const fit = Math.min(size / img.width, size / img.height);
  const w = Math.max(1, Math.min(size, Math.round(img.width * fit)));
  const h = Math.max(1, Math.min(size, Math.round(img.height * fit)));
  const left = Math.floor((size - w) / 2);
  const top = Math.floor((size - h) / 2);
  const rgb = new Uint8Array(size * size * 3);
  // byte offsets of the sample columns and rows, computed once
  const cols = new Int32Array(w * TAPS);
  for (let x = 0; x < cols.length; x++)
    cols[x] = Math.min(img.width - 1, Math.floor(((x + 0.5) / TAPS) * (img.width / w))) * ch;
  const rows = new Int32Array(h * TAPS);
  for (let y = 0; y < rows.length; y++)
    rows[y] = Math.min(img.height - 1, Math.floor(((y + 0.5) / TAPS) * (img.height / h))) * img.width * ch;
  const src = img.data;
  const n = TAPS * TAPS;
  for (let y = 0; y < h; y++) {
    let o = ((top + y) * size + left) * 3;
    for (let x = 0; x < w; x++, o += 3) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < TAPS; j++) {
        const row = rows[y * TAPS + j];
        for (let i = 0; i < TAPS; i++) {
          const k = row + cols[x * TAPS + i];
          r += src[k];
          g += src[k + 1];
          b += src[k + 2];
        }
      }
      rgb[o] = (r + (n >> 1)) / n;
      rgb[o + 1] = (g + (n >> 1)) / n;
      rgb[o + 2] = (b + (n >> 1)) / n;
    }
  }
  return { size, rgb };
}
