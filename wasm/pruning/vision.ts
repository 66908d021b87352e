// Token reduction inside the vision encoder (docs/cost.md, "the vision path"): after encoder layer
// `layer`, the patches are reduced to `tokens` by ToMe's bipartite matching on that layer's keys (Bolya
// et al., ICLR'23, "Token Merging: Your ViT But Faster"; `visionPlan`) before the later encoder layers,
// the post LayerNorm and the projector run -- the part of a request that pruning inside the LLM cannot
// reach. With `merge` each matched patch is averaged into its partner, weighted by the patches each
// stands for, and every later attention -- the remaining encoder layers and the LLM -- adds log(size) to
// that key's scores (proportional attention); without it the matched patches are dropped. The LLM then
// starts from the kept tokens at their own grid places (position ids), and its pruning method runs on
// them as usual. Question-agnostic: it runs before the question is read, so any LLM-side method composes
// with it. Keeping the patches that receive the most attention instead (VisionZip's score) loses the
// objects on this model: 31.9% at 72 of 144 patches after layer 1 on 300 test questions, against 92.5
// unreduced; attention in this ViT goes to the background.
import type { ModelConfig } from "../config";
import { KnobError, validateKnobs, type KnobSpec } from "./method";

/** The knobs of a vision reduction (the API's `atp.vision`). */
export interface VisionReduction {
  /** Encoder layer after which tokens are dropped (0-based; the last layer run is pointless). */
  layer: number;
  /** Patches kept. */
  tokens: number;
  /** 1: merge the dropped into the kept (size-weighted, proportional attention); 0: drop. Default 0. */
  merge?: number;
}

/** A vision reduction as a key: "layer,tokens,merge", or "" for none. */
export function visionReductionKey(v: VisionReduction | null | undefined): string {
  return v ? `${v.layer},${v.tokens},${v.merge ?? 0}` : "";
}

export const VISION_KNOBS: { [P in keyof VisionReduction]-?: KnobSpec } = {
  layer: { kind: "integer", min: 0, doc: "encoder layer after which patches are dropped" },
  tokens: { kind: "integer", min: 1, doc: "patches kept for the later encoder layers and the LLM" },
  merge: { kind: "integer", min: 0, max: 1, doc: "1: merge the dropped patches into the kept ones" },
};

/** Validates `raw` against the knobs and the model (layer before the last one run, tokens < patches). */
export function visionReduction(raw: object, config: ModelConfig, layersRun: number): VisionReduction {
  const r = validateKnobs<VisionReduction>("vision", VISION_KNOBS, raw);
  for (const k of ["layer", "tokens"] as const)
    if (r[k] === undefined) throw new KnobError("vision", k, `vision: knob '${k}' is required`);
  if (r.layer >= layersRun - 1)
    throw new KnobError(
      "vision",
      "layer",
      `vision: knob 'layer' must be below ${layersRun - 1} (the last encoder layer run)`,
    );
  if (r.tokens >= config.imageSeqLength)
    throw new KnobError(
      "vision",
      "tokens",
      `vision: knob 'tokens' must be below ${config.imageSeqLength} (the patches)`,
    );
  return r;
}

/** Which patches stay, and where each dropped one goes (in the order the merges apply). */
export interface VisionPlan {
  /** Rows (of the rows alive at that layer) kept, ascending. */
  kept: Int32Array;
  /** Rows dropped, in merge order, and the row each merges into (a row may be merged into and then merge on). */
  dropped: Int32Array;
  into: Int32Array;
}

/** visionPlan's float64 scratch (keys, unit rows), grown to the largest call so far. */
let planScratch = new Float64Array(0);

/**
 * ToMe's bipartite soft matching on the layer's keys [n, d] of an `grid` x `grid` patch grid (row r is
 * patch r, raster order), in rounds until `tokens` rows remain: the alive rows alternate into sets A and
 * B (raster order), each A row finds its most similar B row (key cosine; ties to the first) among the B
 * rows within `radius` patches of it on the grid (the radius grows by one each round, so a round always
 * finds partners), and the A rows with the most similar partners -- at most all of A, at least what is
 * left to remove -- go into their partners. A merged row's key is the size-weighted mean of its rows' keys
 * for the next round. Redundant patches (a flat background) go first, distinct ones stay. Matching within
 * a window instead of against all of B (ToMe's choice on GPUs) keeps the plan at ~0.1 ms in JavaScript
 * for 144 patches, where the global one took ~2.5 ms, more than the encoder layers it saves.
 */
export function visionPlan(
  keys: Float32Array,
  n: number,
  d: number,
  tokens: number,
  grid: number,
): VisionPlan {
  if (grid * grid !== n) throw new Error(`visionPlan: ${n} rows are not a ${grid} x ${grid} grid`);
  // the keys and their unit rows in float64 scratch kept between calls: allocating and zeroing two
  // 147 KB arrays per request cost about as much as the matching itself
  if (planScratch.length < 2 * n * d) planScratch = new Float64Array(2 * n * d);
  const key = planScratch.subarray(0, n * d);
  const unit = planScratch.subarray(n * d, 2 * n * d);
  key.set(keys.subarray(0, n * d));
  const size = new Float64Array(n).fill(1);
  const normalise = (r: number) => {
    let s = 0;
    for (let c = 0; c < d; c++) s += key[r * d + c] * key[r * d + c];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let c = 0; c < d; c++) unit[r * d + c] = key[r * d + c] * inv;
  };
  for (let r = 0; r < n; r++) normalise(r);
  let alive = Array.from({ length: n }, (_, i) => i);
  const inB = new Uint8Array(n);
  const dropped: number[] = [];
  const into: number[] = [];
  const target = Math.max(1, Math.min(n, tokens));
  for (let radius = 1; alive.length > target; radius++) {
    const A = alive.filter((_, i) => i % 2 === 0);
    inB.fill(0);
    alive.forEach((r, i) => i % 2 === 1 && (inB[r] = 1));
    const best: { a: number; b: number; sim: number }[] = [];
    for (const a of A) {
      const ra = Math.floor(a / grid);
      const ca = a % grid;
      let bi = -1;
      let bs = -Infinity;
      for (let y = Math.max(0, ra - radius); y <= Math.min(grid - 1, ra + radius); y++)
        for (let x = Math.max(0, ca - radius); x <= Math.min(grid - 1, ca + radius); x++) {
          const b = y * grid + x;
          if (!inB[b]) continue;
          let s = 0;
          for (let c = 0; c < d; c++) s += unit[a * d + c] * unit[b * d + c];
          if (s > bs) {
            bs = s;
            bi = b;
          }
        }
      if (bi >= 0) best.push({ a, b: bi, sim: bs });
    }
    best.sort((x, y) => y.sim - x.sim || x.a - y.a);
    const go = best.slice(0, Math.min(best.length, alive.length - target));
    const gone = new Set<number>();
    for (const { a, b } of go) {
      const t = size[a] + size[b];
      for (let c = 0; c < d; c++) key[b * d + c] = (size[b] * key[b * d + c] + size[a] * key[a * d + c]) / t;
      size[b] = t;
      normalise(b);
      dropped.push(a);
      into.push(b);
      gone.add(a);
    }
    alive = alive.filter((r) => !gone.has(r));
  }
  return { kept: Int32Array.from(alive), dropped: Int32Array.from(dropped), into: Int32Array.from(into) };
}
