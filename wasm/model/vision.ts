// The vision tower, as training/model.py's CLIPVisionModel + LlavaForConditionalGeneration.image_features:
// patch embedding (a stride-P Conv2d = a Linear over each patch flattened in (c, kh, kw) order), learned
// position embeddings (no class token), pre-LN encoder layers (attention with biases, GELU MLP), the
// hidden state of `vision_feature_layer`, then post_layernorm when `vision_feature_post_layernorm`.
import { gridSide, headDim, visionLayersRun } from "../config";
import type { Ptr } from "../kernels";
import { now } from "../engine/clock";
import { SAME_INPUT } from "../engine/ops";
import { f32View, i32View, trace, type Engine } from "../engine/context";
import { visionPlan, type VisionPlan, type VisionReduction } from "../pruning/vision";

/**
 * Reorders pixel_values [C, H, W] into patches [Nv, C*P*P]: patch t = py * G + px (row-major over the
 * G x G grid, as the reference's flatten(2)), features in the Conv2d weight's (c, kh, kw) order.
 */
export function patchify(e: Engine, pixels: Ptr, patches: Ptr): void {
  const { channels: C, patchSize: P, imageSize: S } = e.cfg.vision;
  const G = S / P;
  const src = f32View(e, pixels, C * S * S);
  const dst = f32View(e, patches, G * G * C * P * P);
  let o = 0;
  for (let py = 0; py < G; py++)
    for (let px = 0; px < G; px++)
      for (let c = 0; c < C; c++)
        for (let kh = 0; kh < P; kh++) {
          const row = c * S * S + (py * P + kh) * S + px * P;
          for (let kw = 0; kw < P; kw++) dst[o++] = src[row + kw];
        }
}

/** Number of encoder layers whose output is needed (config.ts visionLayersRun). */
export function visionLayersToRun(e: Engine): number {
  return visionLayersRun(e.cfg);
}

/**
 * One pre-LN encoder layer on the first `n` rows of the residual stream b.vx [n, Dv], in place; with
 * `biased`, attention adds b.vkeyBias (log size of merged rows) to each key's scores. With `capture`,
 * returns the head-averaged attention probabilities of every row [n, n] and the layer's keys [n, Dv].
 */
function encoderLayer(
  e: Engine,
  i: number,
  n: number,
  biased: boolean,
  capture: boolean,
): VisionAttention | null {
  const { ops, w, b } = e;
  const { hidden: D, intermediate: I, heads: H, layerNormEps: eps } = e.cfg.vision;
  const p = `vision.layers.${i}`;
  // x = x + self_attn(layer_norm1(x))
  ops.layernorm(b.vx, w.vec(`${p}.ln1.weight`), w.vec(`${p}.ln1.bias`), b.vh, n, D, eps);
  ops.linear(b.vh, w.linear(`${p}.attn.q.weight`), w.maybe(`${p}.attn.q.bias`), b.vq, n); // (n, D)
  ops.linear(b.vh, w.linear(`${p}.attn.k.weight`), w.maybe(`${p}.attn.k.bias`), b.vk, n, SAME_INPUT);
  ops.linear(b.vh, w.linear(`${p}.attn.v.weight`), w.maybe(`${p}.attn.v.bias`), b.vv, n, SAME_INPUT);
  if (capture) i32View(e, b.capRows, n).set(Int32Array.from({ length: n }, (_, r) => r));
  const cap = capture ? n : 0;
  const hd = headDim(e.cfg.vision);
  const bias = biased ? b.vkeyBias : 0;
  ops.attention(
    b.vq,
    D,
    b.vk,
    b.vv,
    D,
    b.vattn,
    D,
    n,
    H,
    H,
    hd,
    n,
    0,
    bias,
    b.scores,
    b.capRows,
    cap,
    b.capOut,
  ); // bidirectional
  const seen = capture
    ? { probs: f32View(e, b.capOut, n * n).slice(), keys: f32View(e, b.vk, n * D).slice() }
    : null;
  ops.linear(b.vattn, w.linear(`${p}.attn.o.weight`), w.maybe(`${p}.attn.o.bias`), b.vtmp, n);
  ops.add(b.vx, b.vtmp, b.vx, n * D);
  // x = x + fc2(gelu(fc1(layer_norm2(x))))
  ops.layernorm(b.vx, w.vec(`${p}.ln2.weight`), w.vec(`${p}.ln2.bias`), b.vh, n, D, eps);
  ops.linear(b.vh, w.linear(`${p}.mlp.fc1.weight`), w.maybe(`${p}.mlp.fc1.bias`), b.vmlp, n); // (n, I)
  ops.gelu(b.vmlp, b.vmlp, n * I);
  ops.linear(b.vmlp, w.linear(`${p}.mlp.fc2.weight`), w.maybe(`${p}.mlp.fc2.bias`), b.vtmp, n);
  ops.add(b.vx, b.vtmp, b.vx, n * D);
  return seen;
}

/** What the last encoder layer run saw: attention probabilities (head mean) [Nv, Nv] and keys [Nv, Dv]. */
export interface VisionAttention {
  probs: Float32Array;
  keys: Float32Array;
}

/** The vision tower's output rows after a reduction: their grid indices and the patches each stands for. */
export interface VisionRows {
  /** Grid index of each output row, ascending [rows]. */
  grid: Int32Array;
  /** Patches each row stands for (1 unless merged) [rows]. */
  sizes: Float32Array;
}

/**
 * Applies `plan` to the first `n` rows of b.vx: with `merge` each dropped row goes into its target
 * (size-weighted mean, in the plan's order), then the kept rows close up in order. Returns the new rows.
 */
function reduceRows(e: Engine, n: number, plan: VisionPlan, rows: VisionRows, merge: boolean): VisionRows {
  const D = e.cfg.vision.hidden;
  const x = f32View(e, e.b.vx, n * D);
  const sizes = rows.sizes.slice();
  if (merge)
    plan.dropped.forEach((d, i) => {
      const k = plan.into[i];
      const total = sizes[k] + sizes[d];
      const wk = sizes[k] / total;
      const wd = sizes[d] / total;
      for (let c = 0; c < D; c++) x[k * D + c] = wk * x[k * D + c] + wd * x[d * D + c];
      sizes[k] = total;
    });
  plan.kept.forEach((r, dst) => {
    if (dst !== r) x.copyWithin(dst * D, r * D, (r + 1) * D);
  });
  return { grid: plan.kept.map((r) => rows.grid[r]), sizes: Float32Array.from(plan.kept, (r) => sizes[r]) };
}

/**
 * pixel_values [C, H, W] at b.pixels -> the selected vision feature [rows, Dv] (its pointer), the rows it
 * has (all Nv patches unless `reduce` dropped some after its layer) and, with `capture`, the last layer's
 * attention. `onLayer` is called after each encoder layer (timings; a reduction counts in its layer).
 */
export function visionForward(
  e: Engine,
  onLayer: (i: number) => void = () => {},
  capture = false,
  reduce: VisionReduction | null = null,
): {
  feature: Ptr;
  attention: VisionAttention | null;
  rows: VisionRows;
  /** Rows each encoder layer ran on. */
  rowsPerLayer: number[];
  reduceMs: number;
} {
  const { ops, w, b } = e;
  const D = e.cfg.vision.hidden;
  const nv = e.cfg.imageSeqLength;
  patchify(e, b.pixels, b.patches);
  ops.linear(b.patches, w.linear("vision.patch_embed.weight"), 0, b.vx, nv); // (Nv, D)
  trace(e, "vision.patch_embeds", b.vx, [nv, D]);
  ops.add(b.vx, w.vec("vision.pos_embed"), b.vx, nv * D);
  const layers = visionLayersToRun(e);
  if (reduce && reduce.layer >= layers - 1) throw new Error("vision reduction after the last encoder layer");
  let attention: VisionAttention | null = null;
  let rows: VisionRows = {
    grid: Int32Array.from({ length: nv }, (_, i) => i),
    sizes: new Float32Array(nv).fill(1),
  };
  let biased = false;
  let reduceMs = 0;
  const rowsPerLayer: number[] = [];
  for (let i = 0; i < layers; i++) {
    const n = rows.grid.length;
    rowsPerLayer.push(n);
    const atReduce = reduce !== null && i === reduce.layer;
    const seen = encoderLayer(e, i, n, biased, capture && i === layers - 1);
    if (seen) attention = seen;
    if (atReduce) {
      const t0 = now();
      const plan = visionPlan(f32View(e, b.vk, n * D), n, D, reduce.tokens, gridSide(n));
      rows = reduceRows(e, n, plan, rows, reduce.merge === 1);
      biased = rows.sizes.some((s) => s !== 1);
      if (biased) f32View(e, b.vkeyBias, rows.sizes.length).set(rows.sizes.map(Math.log));
      reduceMs = now() - t0;
    }
    onLayer(i);
  }
  const n = rows.grid.length;
  let out = b.vx;
  if (e.cfg.visionFeaturePostLayernorm) {
    const eps = e.cfg.vision.layerNormEps;
    ops.layernorm(b.vx, w.vec("vision.post_ln.weight"), w.vec("vision.post_ln.bias"), b.vh, n, D, eps);
    out = b.vh;
  }
  trace(e, "vision.encoder_out", out, [n, D]);
  return { feature: out, attention, rows, rowsPerLayer, reduceMs };
}

/**
 * Multiply-accumulates of the vision tower (the layers run) and the projector for one image, with
 * `rowsPerLayer[i]` rows in encoder layer i (default all patches) and the last layer's rows after it.
 */
export function visionMacs(e: Engine, rowsPerLayer?: number[], outRows?: number): number {
  const v = e.cfg.vision;
  const nv = e.cfg.imageSeqLength;
  const patchIn = v.channels * v.patchSize * v.patchSize;
  // per layer: q, k, v, o projections, the MLP, and attention scores + weighted values
  const layer = (n: number) =>
    n * (4 * v.hidden * v.hidden + 2 * v.hidden * v.intermediate) + 2 * n * n * v.hidden;
  const L = visionLayersToRun(e);
  const rows = rowsPerLayer ?? new Array<number>(L).fill(nv);
  const out = outRows ?? nv;
  const projector = out * (v.hidden * e.cfg.text.hidden + e.cfg.text.hidden * e.cfg.text.hidden);
  return nv * patchIn * v.hidden + rows.reduce((s, n) => s + layer(n), 0) + projector;
}
