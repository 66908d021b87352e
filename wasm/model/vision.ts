// The vision tower, as training/model.py's CLIPVisionModel + LlavaForConditionalGeneration.image_features:
// patch embedding (a stride-P Conv2d = a Linear over each patch flattened in (c, kh, kw) order), learned
// position embeddings (no class token), pre-LN encoder layers (attention with biases, GELU MLP), the
// hidden state of `vision_feature_layer`, then post_layernorm when `vision_feature_post_layernorm`.
import { headDim } from "../config";
import type { Ptr } from "../kernels";
import { f32View, i32View, trace, type Engine } from "../engine/context";

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

/** Number of encoder layers whose output is needed: hidden = [embeddings, layer 0 out, ...][feature layer]. */
export function visionLayersToRun(e: Engine): number {
  const { layers } = e.cfg.vision;
  const f = e.cfg.visionFeatureLayer;
  const n = f < 0 ? layers + 1 + f : f;
  if (n < 0 || n > layers) throw new Error(`config: vision_feature_layer ${f} out of range`);
  return n;
}

/** One pre-LN encoder layer on the residual stream b.vx [Nv, Dv], in place; with `capture`, returns the
 * head-averaged attention probabilities of every row [Nv, Nv] and the layer's keys [Nv, Dv]. */
function encoderLayer(e: Engine, i: number, capture: boolean): VisionAttention | null {
  const { ops, w, b } = e;
  const { hidden: D, intermediate: I, heads: H, layerNormEps: eps } = e.cfg.vision;
  const n = e.cfg.imageSeqLength;
  const p = `vision.layers.${i}`;
  // x = x + self_attn(layer_norm1(x))
  ops.layernorm(b.vx, w.vec(`${p}.ln1.weight`), w.vec(`${p}.ln1.bias`), b.vh, n, D, eps);
  ops.linear(b.vh, w.linear(`${p}.attn.q.weight`), w.maybe(`${p}.attn.q.bias`), b.vq, n); // (Nv, D)
  ops.linear(b.vh, w.linear(`${p}.attn.k.weight`), w.maybe(`${p}.attn.k.bias`), b.vk, n);
  ops.linear(b.vh, w.linear(`${p}.attn.v.weight`), w.maybe(`${p}.attn.v.bias`), b.vv, n);
  if (capture) i32View(e, b.capRows, n).set(Int32Array.from({ length: n }, (_, r) => r));
  const cap = capture ? n : 0;
  const hd = headDim(e.cfg.vision);
  ops.attention(b.vq, D, b.vk, b.vv, D, b.vattn, D, n, H, H, hd, n, 0, 0, b.scores, b.capRows, cap, b.capOut); // bidirectional
  const seen = capture
    ? { probs: f32View(e, b.capOut, n * n).slice(), keys: f32View(e, b.vk, n * D).slice() }
    : null;
  ops.linear(b.vattn, w.linear(`${p}.attn.o.weight`), w.maybe(`${p}.attn.o.bias`), b.vtmp, n);
  ops.add(b.vx, b.vtmp, b.vx, n * D);
  // x = x + fc2(gelu(fc1(layer_norm2(x))))
  ops.layernorm(b.vx, w.vec(`${p}.ln2.weight`), w.vec(`${p}.ln2.bias`), b.vh, n, D, eps);
  ops.linear(b.vh, w.linear(`${p}.mlp.fc1.weight`), w.maybe(`${p}.mlp.fc1.bias`), b.vmlp, n); // (Nv, I)
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

/**
 * pixel_values [C, H, W] at b.pixels -> the selected vision feature [Nv, Dv] (its pointer) and, with
 * `capture`, the last layer's attention. `onLayer` is called after each encoder layer (timings).
 */
export function visionForward(
  e: Engine,
  onLayer: (i: number) => void = () => {},
  capture = false,
): { feature: Ptr; attention: VisionAttention | null } {
  const { ops, w, b } = e;
  const D = e.cfg.vision.hidden;
  const n = e.cfg.imageSeqLength;
  patchify(e, b.pixels, b.patches);
  ops.linear(b.patches, w.linear("vision.patch_embed.weight"), 0, b.vx, n); // (Nv, D)
  trace(e, "vision.patch_embeds", b.vx, [n, D]);
  ops.add(b.vx, w.vec("vision.pos_embed"), b.vx, n * D);
  const layers = visionLayersToRun(e);
  let attention: VisionAttention | null = null;
  for (let i = 0; i < layers; i++) {
    attention = encoderLayer(e, i, capture && i === layers - 1) ?? attention;
    onLayer(i);
  }
  let out = b.vx;
  if (e.cfg.visionFeaturePostLayernorm) {
    const eps = e.cfg.vision.layerNormEps;
    ops.layernorm(b.vx, w.vec("vision.post_ln.weight"), w.vec("vision.post_ln.bias"), b.vh, n, D, eps);
    out = b.vh;
  }
  trace(e, "vision.encoder_out", out, [n, D]);
  return { feature: out, attention };
}

/** Multiply-accumulates of the vision tower (the layers run) and the projector, for one image. */
export function visionMacs(e: Engine): number {
  const v = e.cfg.vision;
  const n = e.cfg.imageSeqLength;
  const patchIn = v.channels * v.patchSize * v.patchSize;
  // per layer: q, k, v, o projections, the MLP, and attention scores + weighted values
  const layer = n * (4 * v.hidden * v.hidden + 2 * v.hidden * v.intermediate) + 2 * n * n * v.hidden;
  const projector = n * (v.hidden * e.cfg.text.hidden + e.cfg.text.hidden * e.cfg.text.hidden);
  return n * patchIn * v.hidden + visionLayersToRun(e) * layer + projector;
}
