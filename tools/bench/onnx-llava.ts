// The whole served model as an fp32 ONNX graph, built from its weight shards (no PyTorch export needed),
// for the onnxruntime-web peer of the model benchmark: pixel_values [1, C, S, S] and input_ids [1, T]
// (the prompt <bos> <image> x Nv {question} <sep>) -> logits [1, T, V] of every position, unpruned.
// Each step follows the engine's forward (wasm/model/vision.ts, projector.ts, decoder.ts): patchify +
// patch embedding + positions, pre-LN encoder layers (exact-erf GELU MLP), post-LN, the GELU projector,
// the visual tokens in place of the <image> rows, then Llama layers (RMSNorm, rotate-half RoPE, causal
// GQA, SwiGLU), the final norm and lm_head. Quantized weights are dequantized, so the peer runs the same
// weights in f32. Shapes are static (the prompt's length), as a serving engine would specialise them.
import { headDim, readTensorsF32, tensorSpecs, type ModelConfig } from "../../wasm/tools";
import { Graph } from "./onnx";

/** A graph over one model's tensors. */
class Builder {
  readonly g = new Graph();
  /** Shapes by tensor name (the tensor table, wasm/names.ts). */
  private readonly shapes: Map<string, number[]>;
  constructor(
    readonly c: ModelConfig,
    private readonly t: Map<string, Float32Array>,
  ) {
    this.shapes = new Map(tensorSpecs(c).map((s) => [s.name, s.shape]));
  }

  /** The tensor `name` as a constant of its table shape. */
  w(name: string): string {
    const v = this.t.get(name);
    const dims = this.shapes.get(name);
    if (!v || !dims) throw new Error(`onnx: the weights lack ${name}`);
    return this.g.f32(name, dims, v);
  }
  /** x [.., K] . W^T (+ bias) for the Linear `name` (weight [N, K], stored transposed as [K, N]). */
  linear(x: string, name: string, bias = false): string {
    const W = this.t.get(`${name}.weight`);
    const dims = this.shapes.get(`${name}.weight`);
    if (!W || !dims) throw new Error(`onnx: the weights lack ${name}.weight`);
    const [n, k] = dims;
    const wt = new Float32Array(k * n);
    for (let r = 0; r < n; r++) for (let i = 0; i < k; i++) wt[i * n + r] = W[r * k + i];
    const y = this.g.op("MatMul", [x, this.g.f32(`${name}.weight_t`, [k, n], wt)]);
    return bias ? this.g.op("Add", [y, this.w(`${name}.bias`)]) : y;
  }
  gelu(x: string): string {
    const e = this.g.op("Erf", [this.g.op("Div", [x, this.scalar(Math.SQRT2)])]);
    return this.g.op("Mul", [this.g.op("Mul", [x, this.scalar(0.5)]), this.g.op("Add", [e, this.scalar(1)])]);
  }
  scalar(v: number): string {
    return this.g.constF32([], Float32Array.of(v));
  }
  reshape(x: string, dims: number[]): string {
    return this.g.op("Reshape", [x, this.g.i64(dims)]);
  }
  transpose(x: string, perm: number[]): string {
    return this.g.op("Transpose", [x], { perm });
  }
  slice(x: string, start: number, end: number, axis: number): string {
    return this.g.op("Slice", [x, this.g.i64([start]), this.g.i64([end]), this.g.i64([axis])]);
  }
  layerNorm(x: string, name: string): string {
    const eps = this.c.vision.layerNormEps;
    return this.g.op("LayerNormalization", [x, this.w(`${name}.weight`), this.w(`${name}.bias`)], {
      axis: { int: -1 },
      epsilon: eps,
    });
  }
  rmsNorm(x: string, name: string): string {
    const ms = this.g.op("ReduceMean", [this.g.op("Mul", [x, x])], { axes: [-1], keepdims: { int: 1 } });
    const rms = this.g.op("Sqrt", [this.g.op("Add", [ms, this.scalar(this.c.text.rmsNormEps)])]);
    return this.g.op("Mul", [this.g.op("Div", [x, rms]), this.w(`${name}.weight`)]);
  }
  /** softmax(q kT * scale + mask) v; kT holds the keys with their last two axes swapped. */
  attention(q: string, kT: string, v: string, d: number, mask: string | null): string {
    let s = this.g.op("Mul", [this.g.op("MatMul", [q, kT]), this.scalar(1 / Math.sqrt(d))]);
    if (mask) s = this.g.op("Add", [s, mask]);
    return this.g.op("MatMul", [this.g.op("Softmax", [s], { axis: { int: -1 } }), v]);
  }
}

/** The vision tower and projector: pixel_values -> visual tokens [Nv, Dt]. */
function visual(b: Builder, pixels: string): string {
  const { c, g } = b;
  const v = c.vision;
  const G = v.imageSize / v.patchSize;
  const N = c.imageSeqLength;
  const D = v.hidden;
  const H = v.heads;
  const hd = headDim(v);
  // [1, C, G, P, G, P] -> [G, G, C, P, P]: patch t = py * G + px, features in (c, kh, kw) order
  let p = b.reshape(pixels, [1, v.channels, G, v.patchSize, G, v.patchSize]);
  p = b.reshape(b.transpose(p, [0, 2, 4, 1, 3, 5]), [N, v.channels * v.patchSize * v.patchSize]);
  let x = g.op("Add", [b.linear(p, "vision.patch_embed"), b.w("vision.pos_embed")]);
  const f = c.visionFeatureLayer;
  const layers = f < 0 ? v.layers + 1 + f : f;
  const heads = (t: string) => b.transpose(b.reshape(t, [N, H, hd]), [1, 0, 2]); // (H, N, hd)
  for (let i = 0; i < layers; i++) {
    const pre = `vision.layers.${i}`;
    const h = b.layerNorm(x, `${pre}.ln1`);
    const [q, k, vv] = ["q", "k", "v"].map((n) => heads(b.linear(h, `${pre}.attn.${n}`, true)));
    const a = b.reshape(b.transpose(b.attention(q, b.transpose(k, [0, 2, 1]), vv, hd, null), [1, 0, 2]), [
      N,
      D,
    ]);
    x = g.op("Add", [x, b.linear(a, `${pre}.attn.o`, true)]);
    const h2 = b.layerNorm(x, `${pre}.ln2`);
    x = g.op("Add", [x, b.linear(b.gelu(b.linear(h2, `${pre}.mlp.fc1`, true)), `${pre}.mlp.fc2`, true)]);
  }
  if (c.visionFeaturePostLayernorm) x = b.layerNorm(x, "vision.post_ln");
  return b.linear(b.gelu(b.linear(x, "projector.fc1", true)), "projector.fc2", true);
}

/** rotate-half RoPE tables for positions 0..T-1: cos and sin [T, hd], each frequency twice. */
function ropeTables(T: number, hd: number, theta: number): [Float32Array, Float32Array] {
  const cos = new Float32Array(T * hd);
  const sin = new Float32Array(T * hd);
  for (let p = 0; p < T; p++)
    for (let i = 0; i < hd / 2; i++) {
      const a = p * theta ** (-(2 * i) / hd);
      cos[p * hd + i] = cos[p * hd + i + hd / 2] = Math.cos(a);
      sin[p * hd + i] = sin[p * hd + i + hd / 2] = Math.sin(a);
    }
  return [cos, sin];
}

/**
 * ONNX bytes of the model in `files` (a weights directory: manifest, config, shards) for the prompt
 * `ids`, whose <image> tokens must be the Nv rows after <bos> (the layout of tools/shapesvqa/prompt.ts).
 */
export function llavaOnnx(files: Map<string, Uint8Array>, ids: readonly number[]): Uint8Array {
  const { config: c, tensors } = readTensorsF32(files);
  const N = c.imageSeqLength;
  const T = ids.length;
  if (ids.slice(1, 1 + N).some((id) => id !== c.imageTokenId) || ids[1 + N] === c.imageTokenId)
    throw new Error("onnx: the prompt must hold the image tokens right after <bos>");
  const b = new Builder(c, tensors);
  const { g } = b;
  const t = c.text;
  const D = t.hidden;
  const hd = headDim(t);
  const rep = t.heads / t.kvHeads;
  const vis = visual(
    b,
    g.input("pixel_values", [1, c.vision.channels, c.vision.imageSize, c.vision.imageSize]),
  );
  // the sequence: <bos>, the visual tokens, the text after them
  const emb = b.reshape(
    g.op("Gather", [b.w("llm.embed.weight"), g.input("input_ids", [1, T], "int64")], { axis: { int: 0 } }),
    [T, D],
  );
  let x = g.op("Concat", [b.slice(emb, 0, 1, 0), vis, b.slice(emb, 1 + N, T, 0)], { axis: { int: 0 } });
  const [cos, sin] = ropeTables(T, hd, t.ropeTheta);
  const cosT = g.f32("rope_cos", [T, hd], cos);
  const sinT = g.f32("rope_sin", [T, hd], sin);
  const mask = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -1e9;
  const maskT = g.f32("causal_mask", [T, T], mask);
  const rope = (q: string) => {
    const rot = g.op("Concat", [g.op("Neg", [b.slice(q, hd / 2, hd, -1)]), b.slice(q, 0, hd / 2, -1)], {
      axis: { int: -1 },
    });
    return g.op("Add", [g.op("Mul", [q, cosT]), g.op("Mul", [rot, sinT])]);
  };
  for (let l = 0; l < t.layers; l++) {
    const pre = `llm.layers.${l}`;
    const h = b.rmsNorm(x, `${pre}.attn_norm`);
    // (H, T, hd) heads, RoPE at positions 0..T-1; GQA: q as (Hkv, rep, T, hd) over k, v (Hkv, 1, T, hd)
    const split = (y: string, heads: number) => rope(b.transpose(b.reshape(y, [T, heads, hd]), [1, 0, 2]));
    const q = b.reshape(split(b.linear(h, `${pre}.attn.q`), t.heads), [t.kvHeads, rep, T, hd]);
    const k = b.reshape(split(b.linear(h, `${pre}.attn.k`), t.kvHeads), [t.kvHeads, 1, T, hd]);
    const v = b.reshape(b.transpose(b.reshape(b.linear(h, `${pre}.attn.v`), [T, t.kvHeads, hd]), [1, 0, 2]), [
      t.kvHeads,
      1,
      T,
      hd,
    ]);
    const a = b.reshape(b.attention(q, b.transpose(k, [0, 1, 3, 2]), v, hd, maskT), [t.heads, T, hd]);
    x = g.op("Add", [x, b.linear(b.reshape(b.transpose(a, [1, 0, 2]), [T, t.heads * hd]), `${pre}.attn.o`)]);
    const h2 = b.rmsNorm(x, `${pre}.mlp_norm`);
    const gate = b.linear(h2, `${pre}.mlp.gate`);
    const act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), b.linear(h2, `${pre}.mlp.up`)]);
    x = g.op("Add", [x, b.linear(act, `${pre}.mlp.down`)]);
  }
  const logits = b.linear(b.rmsNorm(x, "llm.norm"), "llm.head");
  return g.encode(b.reshape(logits, [1, T, t.vocabSize]), [1, T, t.vocabSize]);
}
