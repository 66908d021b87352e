// The activation region: every buffer a request needs, sized from config.json alone (docs/architecture.md:
// no dimension hard-coded twice) and allocated once at load. Vision buffers hold Nv = image_seq_length
// rows; decoder buffers hold S = max_position_embeddings rows (the longest prompt + answer). The KV cache
// is one [S, kv_dim] K and V block per layer, each with its own length (engine/kv.ts), so a pruned layer
// simply fills fewer rows.
import type { Ptr } from "../kernels";
import { headDim, type ModelConfig } from "../config";
import { inPart, tensorSpecs, wholeModel, type ModelPart } from "../names";
import { Region, SizeCounter } from "../arena";
import { actStride, q4Blocks } from "../quant";

/** Pointers of the activation region. f32 unless noted; shapes in rows x columns. */
export interface Buffers {
  // vision (Nv rows)
  pixels: Ptr; // [C, H, W] normalised pixel values
  patches: Ptr; // [Nv, C*P*P]
  vx: Ptr; // [Nv, Dv] residual stream
  vh: Ptr; // [Nv, Dv] normed
  vq: Ptr; // [Nv, Dv]
  vk: Ptr;
  vv: Ptr;
  vattn: Ptr; // [Nv, Dv]
  vmlp: Ptr; // [Nv, Iv]
  vtmp: Ptr; // [Nv, Dv]
  vkeyBias: Ptr; // [Nv] log(size) of each vision row once patches were merged (wasm/pruning/vision.ts)
  pmid: Ptr; // [Nv, Dt] projector hidden
  visual: Ptr; // [Nv, Dt] projected visual tokens
  // decoder (S rows)
  x: Ptr; // [S, Dt] residual stream
  h: Ptr; // [S, Dt]
  q: Ptr; // [S, Hq*hd]
  attn: Ptr; // [S, Hq*hd]
  tmp: Ptr; // [S, Dt]
  gate: Ptr; // [S, I]
  up: Ptr; // [S, I]
  logits: Ptr; // [V]
  pos: Ptr; // i32 [S] position id per row
  kv: { k: Ptr; v: Ptr }[]; // per layer [S, Hkv*hd] each
  keyBias: Ptr[]; // per layer [S]: log(size) of each cache row once tokens were merged (else unused)
  ropeTable: Ptr; // [S, hd] cos | sin halves per position
  scores: Ptr; // [2 max(S, Nv)] attention scratch: two rows (the kernel takes query rows in pairs)
  capRows: Ptr; // i32 [max(S, Nv)]
  capOut: Ptr; // [max(S, Nv), max(S, Nv)] captured head-averaged probability rows (LLM or vision)
  xq: Ptr; // u8 [max(S, Nv), actStride(maxK)] quantized activations
  xs: Ptr; // [max(S, Nv)]
  aux: Ptr; // i32 [max(S, Nv), q4Blocks(maxK)] q4 GEMM scratch
}

/**
 * Sizes and pointers of the activation region for `c` (pass a counter first, then the real region). A
 * stage of a split model (`part`) sizes only what it runs: vision buffers with the vision tower, decoder
 * buffers and the KV caches of its own layers, logits with lm_head; the rest get no bytes.
 */
export function layoutBuffers(
  c: ModelConfig,
  r: Region | SizeCounter,
  part: ModelPart = wholeModel(c),
): Buffers {
  const v = c.vision;
  const t = c.text;
  const vis = part.vision;
  const dec = part.to > part.from;
  const nv = vis ? c.imageSeqLength : 0;
  const s = dec ? t.maxPositions : 0;
  const hd = headDim(t);
  const kvDim = t.kvHeads * hd;
  const rows = Math.max(nv, s);
  const maxK = Math.max(
    1,
    ...tensorSpecs(c)
      .filter((x) => x.linear && inPart(x.name, c, part))
      .map((x) => x.shape[1]),
  );
  let counter = 0;
  const f = (n: number) => alloc(n * 4);
  const alloc = (bytes: number): Ptr => {
    if (r instanceof Region) return r.alloc(bytes);
    r.add(bytes);
    return ++counter; // placeholder pointer while counting
  };
  const own = (l: number) => l >= part.from && l < part.to;
  return {
    pixels: f(vis ? v.channels * v.imageSize * v.imageSize : 0),
    patches: f(nv * v.channels * v.patchSize * v.patchSize),
    vx: f(nv * v.hidden),
    vh: f(nv * v.hidden),
    vq: f(nv * v.hidden),
    vk: f(nv * v.hidden),
    vv: f(nv * v.hidden),
    vattn: f(nv * v.hidden),
    vmlp: f(nv * v.intermediate),
    vtmp: f(nv * v.hidden),
    vkeyBias: f(nv),
    pmid: f(nv * t.hidden),
    visual: f(vis || (dec && part.from === 0) ? c.imageSeqLength * t.hidden : 0),
    x: f(s * t.hidden),
    h: f(s * t.hidden),
    q: f(s * t.heads * hd),
    attn: f(s * t.heads * hd),
    tmp: f(s * t.hidden),
    gate: f(s * t.intermediate),
    up: f(s * t.intermediate),
    logits: f(dec && part.to === t.layers ? t.vocabSize : 0),
    pos: f(s),
    kv: Array.from({ length: t.layers }, (_, l) => ({
      k: f(own(l) ? s * kvDim : 0),
      v: f(own(l) ? s * kvDim : 0),
    })),
    keyBias: Array.from({ length: t.layers }, (_, l) => f(own(l) ? s : 0)),
    ropeTable: f(s * hd),
    scores: f(2 * rows),
    capRows: f(rows),
    capOut: f(rows * rows),
    xq: alloc(rows * actStride(maxK)),
    xs: f(rows),
    aux: f(rows * q4Blocks(maxK)),
  };
}
