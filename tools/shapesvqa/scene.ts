// ShapesVQA scene sampling: a smooth background description and 1-8 non-overlapping objects.
// Geometry is integer: an object occupies the square box [x0, x0+size) x [y0, y0+size); its centre in
// doubled pixel units is (2*x0 + size, 2*y0 + size), which keeps centres and distances exact integers.
import { Rng } from "./rng";
import { COLOURS, SHAPES, type ShapeName } from "./vocab";

/** Image side in pixels (square RGB image). */
export const IMAGE_SIZE = 96;
/** Object box side range in pixels: 12..20 px spans 2-3 of the ViT's 8x8 patches per axis. */
export const MIN_SIZE = 12;
export const MAX_SIZE = 20;
/** Boxes keep at least this many background pixels between them (and 1 px from the image border). */
export const MIN_GAP = 2;
export const MAX_OBJECTS = 8;
/** Per-channel colour jitter (+/-), small next to the ~90 RGB distance between named colours. */
export const COLOUR_JITTER = 12;
/** Coarse value-noise grid for the background texture: one knot every NOISE_CELL px. */
export const NOISE_CELL = 16;
export const NOISE_KNOTS = IMAGE_SIZE / NOISE_CELL + 1;

/** One object of a scene. `colour` is the index into COLOURS; `rgb` its jittered fill. */
export interface SceneObject {
  readonly shape: ShapeName;
  readonly colour: number;
  readonly rgb: readonly [number, number, number];
  readonly size: number;
  readonly x0: number;
  readonly y0: number;
}

/** Background: base grey with a tint, a linear gradient per channel, and a shared low-contrast noise. */
export interface Background {
  readonly base: readonly [number, number, number];
  /** Per-channel change across the whole image along x and y (levels). */
  readonly gx: readonly [number, number, number];
  readonly gy: readonly [number, number, number];
  /** NOISE_KNOTS x NOISE_KNOTS offsets in [-8, 8], row-major. */
  readonly noise: Int8Array;
}

export interface Scene {
  readonly background: Background;
  readonly objects: readonly SceneObject[];
}

/** Doubled x coordinate of an object's centre (pixel i has its centre at 2i+1). */
export const cx2 = (o: SceneObject): number => 2 * o.x0 + o.size;
/** Doubled y coordinate of an object's centre. */
export const cy2 = (o: SceneObject): number => 2 * o.y0 + o.size;

/** True when two boxes, each grown by MIN_GAP, intersect. */
export function boxesClash(a: SceneObject, b: SceneObject): boolean {
  return (
    a.x0 < b.x0 + b.size + MIN_GAP &&
    b.x0 < a.x0 + a.size + MIN_GAP &&
    a.y0 < b.y0 + b.size + MIN_GAP &&
    b.y0 < a.y0 + a.size + MIN_GAP
  );
}

function sampleBackground(rng: Rng): Background {
  const grey = rng.range(85, 135);
  const base: [number, number, number] = [0, 0, 0];
  const gx: [number, number, number] = [0, 0, 0];
  const gy: [number, number, number] = [0, 0, 0];
  const sx = rng.range(-30, 30);
  const sy = rng.range(-30, 30);
  for (let c = 0; c < 3; c++) {
    base[c] = grey + rng.range(-8, 8);
    gx[c] = sx + rng.range(-6, 6);
    gy[c] = sy + rng.range(-6, 6);
  }
  const noise = new Int8Array(NOISE_KNOTS * NOISE_KNOTS);
  for (let i = 0; i < noise.length; i++) noise[i] = rng.range(-8, 8);
  return { base, gx, gy, noise };
}

function sampleObject(rng: Rng): SceneObject {
  const shape = rng.pick(SHAPES);
  const colour = rng.int(COLOURS.length);
  const [r, g, b] = COLOURS[colour].rgb;
  const j = (v: number) => Math.min(255, Math.max(0, v + rng.range(-COLOUR_JITTER, COLOUR_JITTER)));
  const size = rng.range(MIN_SIZE, MAX_SIZE);
  const x0 = rng.range(1, IMAGE_SIZE - 1 - size);
  const y0 = rng.range(1, IMAGE_SIZE - 1 - size);
  return { shape, colour, rgb: [j(r), j(g), j(b)], size, x0, y0 };
}

/** Samples a scene with `n` objects (1..8, default uniform) placed without overlap by rejection. */
export function sampleScene(rng: Rng, n = rng.range(1, MAX_OBJECTS)): Scene {
  const background = sampleBackground(rng);
  for (;;) {
    const objects: SceneObject[] = [];
    let tries = 0;
    while (objects.length < n && tries < 200) {
      const o = sampleObject(rng);
      tries++;
      if (objects.every((p) => !boxesClash(o, p))) objects.push(o);
    }
    if (objects.length === n) return { background, objects };
  }
}
