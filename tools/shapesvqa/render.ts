// Rasterises a ShapesVQA scene into raw RGB bytes (96 x 96 x 3, row-major), integer arithmetic only.
// Shape membership is tested at pixel centres in doubled units relative to the object's centre, with the
// half side s = size (doubled), so every shape spans its whole box and no anti-aliasing is needed.
import { IMAGE_SIZE, NOISE_CELL, NOISE_KNOTS, type Scene } from "./scene";
import type { ShapeName } from "./vocab";

/** Bytes per rendered image: [96, 96, 3] uint8. */
export const IMAGE_BYTES = IMAGE_SIZE * IMAGE_SIZE * 3;

/**
 * Five-pointed star, outer radius 1000, inner radius 400, shifted down by 95 so the vertical extent
 * (-905..904) is centred. Precomputed once from cos/sin and frozen here as integers.
 */
const STAR: readonly number[] = [
  0, -905, 235, -229, 951, -214, 380, 219, 588, 904, 0, 495, -588, 904, -380, 219, -951, -214, -235, -229,
];

/** Even-odd point-in-polygon test of (px, py) against STAR scaled by s / 1000 (exact integers). */
function insideStar(dx: number, dy: number, s: number): boolean {
  const px = dx * 1000;
  const py = dy * 1000;
  let inside = false;
  const n = STAR.length / 2;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = STAR[2 * i] * s;
    const yi = STAR[2 * i + 1] * s;
    const xj = STAR[2 * j] * s;
    const yj = STAR[2 * j + 1] * s;
    if (yi > py !== yj > py) {
      // Crossing x of the edge at height py, compared without division: sign-safe on (yj - yi).
      const lhs = (px - xi) * (yj - yi);
      const rhs = (xj - xi) * (py - yi);
      if (yj - yi > 0 ? lhs < rhs : lhs > rhs) inside = !inside;
    }
  }
  return inside;
}

/**
 * Whether a pixel centre at doubled offset (dx, dy) from an object's centre is inside the shape with
 * doubled half side s (= the box side in pixels).
 */
export function insideShape(shape: ShapeName, dx: number, dy: number, s: number): boolean {
  const ax = dx < 0 ? -dx : dx;
  const ay = dy < 0 ? -dy : dy;
  switch (shape) {
    case "square":
      return ax < s && ay < s;
    case "circle":
      return dx * dx + dy * dy <= s * s;
    case "diamond":
      return ax + ay <= s;
    case "triangle":
      // Apex at the top (dy = -s), base on the bottom row: half width grows from 0 to s.
      return dy < s && 2 * ax <= dy + s;
    case "cross":
      return (3 * ax <= s && ay < s) || (3 * ay <= s && ax < s);
    case "star":
      return insideStar(dx, dy, s);
  }
}

const clampByte = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Renders `scene` into `out[offset .. offset + IMAGE_BYTES)`. */
export function renderScene(
  scene: Scene,
  out: Uint8Array = new Uint8Array(IMAGE_BYTES),
  offset = 0,
): Uint8Array {
  const { base, gx, gy, noise } = scene.background;
  const span = 2 * IMAGE_SIZE; // doubled image width: the gradient changes by g over the image
  for (let y = 0; y < IMAGE_SIZE; y++) {
    const ky = (y / NOISE_CELL) | 0;
    const fy = y % NOISE_CELL;
    const ty = 2 * y + 1 - IMAGE_SIZE;
    for (let x = 0; x < IMAGE_SIZE; x++) {
      const kx = (x / NOISE_CELL) | 0;
      const fx = x % NOISE_CELL;
      const k = ky * NOISE_KNOTS + kx;
      // Bilinear value noise, weights summing to NOISE_CELL^2 = 256; >> 8 floors exactly.
      const nz =
        (noise[k] * (NOISE_CELL - fx) * (NOISE_CELL - fy) +
          noise[k + 1] * fx * (NOISE_CELL - fy) +
          noise[k + NOISE_KNOTS] * (NOISE_CELL - fx) * fy +
          noise[k + NOISE_KNOTS + 1] * fx * fy) >>
        8;
      const tx = 2 * x + 1 - IMAGE_SIZE;
      const p = offset + (y * IMAGE_SIZE + x) * 3;
      for (let c = 0; c < 3; c++) {
        out[p + c] = clampByte(base[c] + Math.trunc((gx[c] * tx + gy[c] * ty) / span) + nz);
      }
    }
  }
  for (const o of scene.objects) {
    const cx = 2 * o.x0 + o.size;
    const cy = 2 * o.y0 + o.size;
    for (let y = o.y0; y < o.y0 + o.size; y++) {
      for (let x = o.x0; x < o.x0 + o.size; x++) {
        if (!insideShape(o.shape, 2 * x + 1 - cx, 2 * y + 1 - cy, o.size)) continue;
        const p = offset + (y * IMAGE_SIZE + x) * 3;
        out[p] = o.rgb[0];
        out[p + 1] = o.rgb[1];
        out[p + 2] = o.rgb[2];
      }
    }
  }
  return out;
}
