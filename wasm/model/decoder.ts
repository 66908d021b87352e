// The Llama-style decoder, as training/model.py's LlamaForCausalLM: per layer
//   x = x + o_proj(attn(rope(q_proj(rms1(x))), rope(k_proj(..)), v_proj(..)))     causal GQA
//   x = x + down_proj(silu(gate_proj(rms2(x))) * up_proj(rms2(x)))                  SwiGLU
// then the final RMSNorm and lm_head. Prefill runs the whole prompt through each layer and asks the
// pruning policy (wasm/pruning/policy.ts) after every layer which visual tokens stay; dropped rows leave
// the hidden states, so every later layer's KV cache (engine/buffers.ts: one per layer, own length) is
// built without them. Every row carries its original position id (RoPE at explicit positions), and
// decoding continues from the unpruned prompt length. With a merging policy (`policy.merge`) a dropped
// visual row is first averaged into its most similar kept row, weighted by the tokens each stands for,
// and from then on every layer's attention adds log(size) to that key's scores (proportional attention,
// ToMe): a key standing for n tokens weighs as n copies of itself.
import { gridSide, headDim } from "../config";
import type { Ptr } from "../kernels";
import { Q4_BLOCK, Q4_BLOCK_BYTES, Q4_GROUP, q4Blocks, q4Groups } from "../quant";
import { f32View, i32View, trace, type Engine } from "../engine/context";
import { now } from "../engine/clock";
import { SAME_INPUT } from "../engine/ops";
import type { CapturedAttention, LayerView, PolicyContext, PruningPolicy } from "../pruning/policy";
import { unitRowsInto } from "../pruning/select";
import type { VisionRows } from "./vision";

/** Per-request decoder state: each layer's KV-cache length and the next position id. */
export interface DecoderState {
  cacheLen: Int32Array;
  nextPos: number;
  /** True once tokens were merged: every layer's attention then reads its b.keyBias row. */
  biased: boolean;
}

/** What prefill reports besides the logits of the last row (left in b.logits). */
export interface PrefillResult {
  state: DecoderState;
  /** Visual tokens alive entering each layer. */
  visualPerLayer: number[];
  /** Grid indices (row-major, ascending) of the visual tokens alive entering each layer. */
  visualIndexPerLayer: number[][];
  /** Milliseconds spent per layer on pruning: the policy's calls, its view and the compaction. */
  pruneMsPerLayer: number[];
  /** Multiply-accumulates of the LLM prefill (Linear layers, attention, and lm_head on the last row). */
  macs: number;
}

/**
 * The embedding of token `id` into out [Dt]: a row of the f32 table, or of the quantized tied table
 * (lm_head's weight, wasm/names.ts) dequantized as the kernels read it (code * scale, f32).
 */
export function embedRow(e: Engine, id: number, out: Float32Array): void {
  const t = e.cfg.text;
  const D = t.hidden;
  if (!(id >= 0 && id < t.vocabSize)) throw new Error(`token id ${id} outside the vocabulary`);
  if (!t.tieWordEmbeddings) {
    out.set(f32View(e, e.w.vec("llm.embed.weight") + id * D * 4, D));
    return;
  }
  const w = e.w.linear("llm.embed.weight");
  const mem = e.ops.k.memory.buffer;
  if (w.dtype === "f32") out.set(new Float32Array(mem, w.data + id * D * 4, D));
  else if (w.dtype === "q8") {
    const codes = new Int8Array(mem, w.data + id * D, D);
    const s = new Float32Array(mem, w.scales + id * 4, 1)[0];
    for (let i = 0; i < D; i++) out[i] = codes[i] * s;
  } else {
    const kb = q4Blocks(D);
    const kg = q4Groups(D);
    const row = new Uint8Array(mem, w.data + id * kb * Q4_BLOCK_BYTES, kb * Q4_BLOCK_BYTES);
    const scales = new Float32Array(mem, w.scales + id * kg * 4, kg);
    for (let i = 0; i < D; i++) {
      const byte = row[Math.floor(i / Q4_BLOCK) * Q4_BLOCK_BYTES + (i % 16)];
      const code = (i % Q4_BLOCK < 16 ? byte & 15 : byte >> 4) - 8;
      out[i] = code * scales[Math.floor(i / Q4_GROUP)];
    }
  }
}

/** ids [T] -> x [T, Dt]: token embeddings; the <image> rows take the visual tokens [Nv, Dt] in order. */
export function embed(e: Engine, ids: readonly number[], visual: Ptr, x: Ptr): void {
  const D = e.cfg.text.hidden;
  const vis = f32View(e, visual, e.cfg.imageSeqLength * D);
  const out = f32View(e, x, ids.length * D);
  let img = 0;
  ids.forEach((id, r) => {
    if (id === e.cfg.imageTokenId) {
      if (img >= e.cfg.imageSeqLength)
        throw new Error("prompt has more <image> tokens than image_seq_length");
      out.set(vis.subarray(img * D, ++img * D), r * D);
    } else embedRow(e, id, out.subarray(r * D, (r + 1) * D));
  });
  if (img !== 0 && img !== e.cfg.imageSeqLength) throw new Error("prompt has too few <image> tokens");
}

/**
 * The attention of decoder layer `l` over `m` new rows of b.x (positions in b.pos) into b.attn [m, Hq*hd]
 * (before o_proj), appending their K/V to the layer's cache after `past` rows; b.x is left as it is. With
 * `capture`, returns those rows' head-averaged attention probabilities; with `probsOnly` only those (no V
 * rows and no b.attn: a probe of the layer before it runs).
 */
function attentionBlock(
  e: Engine,
  l: number,
  m: number,
  past: number,
  capture: Int32Array | null,
  biased: boolean,
  probsOnly = false,
): CapturedAttention | null {
  const { ops, w, b } = e;
  const t = e.cfg.text;
  const D = t.hidden;
  const hd = headDim(t);
  const qDim = t.heads * hd;
  const kvDim = t.kvHeads * hd;
  const p = `llm.layers.${l}`;
  const { k, v } = b.kv[l];
  const kNew = k + past * kvDim * 4;
  const vNew = v + past * kvDim * 4;
  ops.rmsnorm(b.x, w.vec(`${p}.attn_norm.weight`), b.h, m, D, t.rmsNormEps);
  ops.linear(b.h, w.linear(`${p}.attn.q.weight`), 0, b.q, m); // (m, Hq*hd)
  ops.linear(b.h, w.linear(`${p}.attn.k.weight`), 0, kNew, m, SAME_INPUT); // (m, Hkv*hd) into the cache
  if (!probsOnly) ops.linear(b.h, w.linear(`${p}.attn.v.weight`), 0, vNew, m, SAME_INPUT);
  ops.rope(b.q, qDim, m, t.heads, hd, b.pos, b.ropeTable);
  ops.rope(kNew, kvDim, m, t.kvHeads, hd, b.pos, b.ropeTable);
  const keys = past + m;
  const capCount = capture ? capture.length : 0;
  if (capture) i32View(e, b.capRows, capCount).set(capture);
  ops.attention(
    b.q,
    qDim,
    k,
    probsOnly ? 0 : v, // 0: the probabilities only (the kernel contract)
    kvDim,
    b.attn,
    qDim,
    m,
    t.heads,
    t.kvHeads,
    hd,
    keys,
    1,
    biased ? b.keyBias[l] : 0,
    b.scores,
    b.capRows,
    capCount,
    b.capOut,
  );
  if (!capture) return null;
  return { rows: capture.slice(), probs: f32View(e, b.capOut, capCount * keys).slice(), keys };
}

/**
 * One decoder layer over `m` new rows of b.x (positions in b.pos), appending their K/V to layer `l`'s
 * cache after `past` rows. With `capture`, returns those rows' head-averaged attention probabilities.
 */
function decoderLayer(
  e: Engine,
  l: number,
  m: number,
  past: number,
  capture: Int32Array | null,
  biased: boolean,
): CapturedAttention | null {
  const { ops, w, b } = e;
  const t = e.cfg.text;
  const D = t.hidden;
  const p = `llm.layers.${l}`;
  const probs = attentionBlock(e, l, m, past, capture, biased);
  ops.linear(b.attn, w.linear(`${p}.attn.o.weight`), 0, b.tmp, m);
  ops.add(b.x, b.tmp, b.x, m * D);
  // MLP block
  ops.rmsnorm(b.x, w.vec(`${p}.mlp_norm.weight`), b.h, m, D, t.rmsNormEps);
  ops.linear(b.h, w.linear(`${p}.mlp.gate.weight`), 0, b.gate, m); // (m, I)
  ops.linear(b.h, w.linear(`${p}.mlp.up.weight`), 0, b.up, m, SAME_INPUT);
  ops.swiglu(b.gate, b.up, b.gate, m * t.intermediate);
  ops.linear(b.gate, w.linear(`${p}.mlp.down.weight`), 0, b.tmp, m);
  ops.add(b.x, b.tmp, b.x, m * D);
  return probs;
}

/** Final RMSNorm of row `row` of b.x and lm_head -> b.logits [V]. */
function head(e: Engine, row: number): void {
  const { ops, w, b } = e;
  const D = e.cfg.text.hidden;
  ops.rmsnorm(b.x + row * D * 4, w.vec("llm.norm.weight"), b.h, 1, D, e.cfg.text.rmsNormEps);
  const lmHead = e.cfg.text.tieWordEmbeddings ? "llm.embed.weight" : "llm.head.weight";
  ops.linear(b.h, w.linear(lmHead), 0, b.logits, 1);
}

/** Multiply-accumulates per row of a probe of layer 0's attention (q and k; attentionBlock probsOnly). */
function probeLinearMacs(e: Engine): number {
  const t = e.cfg.text;
  const hd = headDim(t);
  return t.hidden * (t.heads * hd + t.kvHeads * hd);
}

/** Multiply-accumulates of one decoder layer's Linear weights per row. */
function layerLinearMacs(e: Engine): number {
  const t = e.cfg.text;
  const hd = headDim(t);
  return t.hidden * (2 * t.heads * hd + 2 * t.kvHeads * hd) + 3 * t.hidden * t.intermediate;
}

/**
 * The prompt's rows between decoder layers: what a prefill carries from one layer to the next (and,
 * split across stages, from one stage to the next, with the hidden states b.x [rows, Dt]).
 */
export interface PrefillCarry {
  /** Original position id of each row. */
  positions: Int32Array;
  /** Grid index of each visual row, -1 for text rows. */
  grid: Int32Array;
  /** Tokens each row stands for (merging). */
  sizes: Float32Array;
  /** Row of the last <image> token in the prompt. */
  lastImageRow: number;
  state: DecoderState;
  visualPerLayer: number[];
  visualIndexPerLayer: number[][];
  pruneMsPerLayer: number[];
  macs: number;
  /** Pruning before layer 0 (beforeFirstLayer), counted into layer 0's pruneMs. */
  inputPruneMs: number;
}

/** The policy's context for a prompt: the instruction ids after the image, the model's tensors. */
export function policyContext(e: Engine, ids: readonly number[]): PolicyContext {
  const t = e.cfg.text;
  const lastImageRow = ids.lastIndexOf(e.cfg.imageTokenId);
  return {
    config: e.cfg,
    instructionIds: ids.slice(lastImageRow + 1),
    tensor: (name, n) => f32View(e, e.w.vec(name), n).slice(),
    has: (name) => e.w.has(name),
    embedRows: (tokens) => {
      const D = t.hidden;
      const out = new Float32Array(tokens.length * D);
      tokens.forEach((id, i) => embedRow(e, id, out.subarray(i * D, (i + 1) * D)));
      return out;
    },
  };
}

/**
 * The start of a prefill: the prompt ids [T] (with Nv <image> ids) embedded into b.x, the visual rows a
 * vision reduction dropped removed, and the policy's beforeFirstLayer applied. `policy.begin` must have run.
 * `vision`: the patches a vision reduction kept (wasm/pruning/vision.ts) and the patches each stands for;
 * the others' <image> rows are dropped before anything else, and merged ones weigh log(size) in attention.
 */
export function prefillBegin(
  e: Engine,
  ids: readonly number[],
  visual: Ptr,
  policy: PruningPolicy,
  vision: VisionRows | null = null,
): PrefillCarry {
  const t = e.cfg.text;
  const T = ids.length;
  if (T > t.maxPositions)
    throw new Error(`prompt of ${T} tokens exceeds max_position_embeddings ${t.maxPositions}`);
  embed(e, ids, visual, e.b.x);
  const lastImageRow = ids.lastIndexOf(e.cfg.imageTokenId);
  let positions: Int32Array = Int32Array.from(ids, (_, i) => i);
  let grid: Int32Array = new Int32Array(T).fill(-1);
  let nImg = 0;
  ids.forEach((id, i) => id === e.cfg.imageTokenId && (grid[i] = nImg++));
  let sizes: Float32Array = new Float32Array(T).fill(1);
  const merge = policy.merge === true;
  if (vision) {
    [positions, grid, sizes] = compact(
      e,
      layerView(e, 0, positions, grid, lastImageRow),
      vision.grid,
      positions,
      grid,
      sizes,
      false,
    );
    const sizeOf = new Map<number, number>();
    vision.grid.forEach((g, j) => sizeOf.set(g, vision.sizes[j]));
    grid.forEach((g, r) => g >= 0 && (sizes[r] = sizeOf.get(g)!));
  }
  let inputPruneMs = 0;
  let macs = 0;
  if (policy.beforeFirstLayer) {
    const tp = now();
    const view = layerView(e, 0, positions, grid, lastImageRow, sizes);
    // layer 0's attention on its input, for a policy that decides from it before the layer runs (its
    // K/V rows are rewritten when layer 0 runs on the rows kept)
    const probe = policy.probeFirstLayer?.(view) ?? null;
    let attention: CapturedAttention | null = null;
    if (probe && probe.length) {
      const rows = positions.length;
      i32View(e, e.b.pos, rows).set(positions);
      const biased = sizes.some((n) => n !== 1);
      if (biased) writeKeyBias(e, 0, sizes);
      attention = attentionBlock(e, 0, rows, 0, probe, biased, true);
      // q and k, then the scores (no values)
      macs += rows * probeLinearMacs(e) + ((rows * (rows + 1)) / 2) * t.hidden;
    }
    const keep = policy.beforeFirstLayer(view, attention);
    if (keep) [positions, grid, sizes] = compact(e, view, keep, positions, grid, sizes, merge);
    inputPruneMs = now() - tp;
  }
  return {
    positions,
    grid,
    sizes,
    lastImageRow,
    state: { cacheLen: new Int32Array(t.layers), nextPos: T, biased: false },
    visualPerLayer: [],
    visualIndexPerLayer: [],
    pruneMsPerLayer: [],
    macs,
    inputPruneMs,
  };
}

/** Layers [from, to) of a prefill on the rows in b.x, pruning after each as `policy` says. */
export function prefillLayers(
  e: Engine,
  c: PrefillCarry,
  from: number,
  to: number,
  policy: PruningPolicy,
  onLayer: (l: number) => void = () => {},
): void {
  const t = e.cfg.text;
  const D = t.hidden;
  const merge = policy.merge === true;
  const { state } = c;
  for (let l = from; l < to; l++) {
    const rows = c.positions.length;
    i32View(e, e.b.pos, rows).set(c.positions);
    const tp = now();
    const view = layerView(e, l, c.positions, c.grid, c.lastImageRow, c.sizes);
    c.visualPerLayer.push(view.visualRows.length);
    c.visualIndexPerLayer.push(Array.from(view.visualIndex));
    const capture = policy.captureRows(view);
    if (!state.biased && c.sizes.some((n) => n !== 1)) state.biased = true;
    if (state.biased) writeKeyBias(e, l, c.sizes);
    const pruneMs = now() - tp + (l === 0 ? c.inputPruneMs : 0);
    const probs: CapturedAttention | null = decoderLayer(
      e,
      l,
      rows,
      0,
      capture && capture.length ? capture : null,
      state.biased,
    );
    state.cacheLen[l] = rows;
    c.macs += rows * layerLinearMacs(e) + ((rows * (rows + 1)) / 2) * 2 * D;
    trace(e, `llm.hidden.${l}`, e.b.x, [rows, D]);
    const ta = now();
    const keep = l + 1 < t.layers ? policy.afterLayer(view, probs) : null;
    if (keep) [c.positions, c.grid, c.sizes] = compact(e, view, keep, c.positions, c.grid, c.sizes, merge);
    c.pruneMsPerLayer.push(pruneMs + now() - ta);
    onLayer(l); // the layer's time includes its pruning
  }
}

/** The end of a prefill: the final norm and lm_head on the last row -> b.logits. */
export function prefillEnd(e: Engine, c: PrefillCarry): PrefillResult {
  const rows = c.positions.length;
  if (e.trace) traceLogits(e, rows);
  head(e, rows - 1);
  c.macs += e.cfg.text.hidden * e.cfg.text.vocabSize;
  const { state, visualPerLayer, visualIndexPerLayer, pruneMsPerLayer, macs } = c;
  return { state, visualPerLayer, visualIndexPerLayer, pruneMsPerLayer, macs };
}

/**
 * The prompt ids [T] (with Nv <image> ids) through every layer, pruning between layers as `policy` says
 * (prefillBegin, prefillLayers over all layers, prefillEnd). Leaves the logits of the last row in
 * b.logits. `onLayer(l)` is called after each layer (timings).
 */
export function prefill(
  e: Engine,
  ids: readonly number[],
  visual: Ptr,
  policy: PruningPolicy,
  onLayer: (l: number) => void = () => {},
  vision: VisionRows | null = null,
): PrefillResult {
  policy.begin?.(policyContext(e, ids));
  const c = prefillBegin(e, ids, visual, policy, vision);
  prefillLayers(e, c, 0, e.cfg.text.layers, policy, onLayer);
  return prefillEnd(e, c);
}

/** Layers [from, to) of one decode step on the row in b.x at position `pos` (the KV caches grow by one). */
export function decodeLayers(e: Engine, state: DecoderState, pos: number, from: number, to: number): void {
  i32View(e, e.b.pos, 1)[0] = pos;
  for (let l = from; l < to; l++) {
    decoderLayer(e, l, 1, state.cacheLen[l], null, state.biased);
    state.cacheLen[l]++;
  }
}

/** The final norm and lm_head on the row in b.x -> b.logits (the last stage of a decode step). */
export function decodeHead(e: Engine): void {
  head(e, 0);
}

/** One generated token through every layer at position state.nextPos; logits in b.logits. */
export function decodeStep(e: Engine, state: DecoderState, token: number): void {
  const t = e.cfg.text;
  const D = t.hidden;
  if (state.nextPos >= t.maxPositions) throw new Error("context full: max_position_embeddings reached");
  embedRow(e, token, f32View(e, e.b.x, D));
  decodeLayers(e, state, state.nextPos++, 0, t.layers);
  head(e, 0);
}

/** The policy's view of the sequence before layer `l`. */
function layerView(
  e: Engine,
  l: number,
  positions: Int32Array,
  grid: Int32Array,
  lastImageRow: number,
  sizes: Float32Array | null = null,
): LayerView {
  // two plain passes (count, then fill): this runs for every layer of every request
  const isText = (r: number) => positions[r] > lastImageRow; // prompt row == original position
  let nv = 0;
  let nt = 0;
  for (let r = 0; r < grid.length; r++) {
    if (grid[r] >= 0) nv++;
    else if (isText(r)) nt++;
  }
  const visualRows = new Int32Array(nv);
  const visualIndex = new Int32Array(nv);
  const visualSizes = new Float32Array(nv).fill(1);
  const textRows = new Int32Array(nt);
  for (let r = 0, i = 0, j = 0; r < grid.length; r++) {
    if (grid[r] >= 0) {
      if (sizes) visualSizes[i] = sizes[r];
      visualRows[i] = r;
      visualIndex[i++] = grid[r];
    } else if (isText(r)) textRows[j++] = r;
  }
  const numVisual = e.cfg.imageSeqLength;
  return {
    layer: l,
    numLayers: e.cfg.text.layers,
    rows: positions.length,
    positions,
    visualRows,
    visualIndex,
    visualSizes,
    textRows,
    lastRow: positions.length - 1,
    numVisual,
    grid: gridSide(numVisual),
    hidden: () => f32View(e, e.b.x, positions.length * e.cfg.text.hidden).slice(),
  };
}

/**
 * Layer l's key bias row: log(size) of each of its prefill rows, 0 after them (rows decoding appends
 * stand for one token).
 */
function writeKeyBias(e: Engine, l: number, sizes: Float32Array): void {
  const row = f32View(e, e.b.keyBias[l], e.cfg.text.maxPositions);
  row.fill(0);
  for (let r = 0; r < sizes.length; r++) row[r] = Math.log(sizes[r]);
}

/**
 * With `merge`: each visual row about to be dropped is averaged into the kept visual row most similar
 * to it (cosine of the hidden states as they stand; ties to the first), weighted by the tokens each
 * stands for, and its size added to that row's.
 */
function mergeDropped(
  e: Engine,
  view: LayerView,
  kept: Set<number>,
  grid: Int32Array,
  sizes: Float32Array,
): void {
  const D = e.cfg.text.hidden;
  const x = f32View(e, e.b.x, grid.length * D);
  const keptRows: number[] = [];
  const dropRows: number[] = [];
  for (const r of view.visualRows) (kept.has(grid[r]) ? keptRows : dropRows).push(r);
  if (!keptRows.length || !dropRows.length) return;
  // unit rows (rounded to f32): the dropped ones into b.h, the kept ones into b.tmp; their cosine
  // similarities [dropped, kept] by the f32 GEMM into b.capOut (free between layers: captures are copied out)
  const nd = dropRows.length;
  const nk = keptRows.length;
  unitRowsInto(x, D, dropRows, f32View(e, e.b.h, nd * D));
  unitRowsInto(x, D, keptRows, f32View(e, e.b.tmp, nk * D));
  const w = {
    name: "merge.kept_units",
    dtype: "f32" as const,
    n: nk,
    k: D,
    data: e.b.tmp,
    scales: 0,
    wsum: 0,
  };
  e.ops.linear(e.b.h, w, 0, e.b.capOut, nd);
  const sim = f32View(e, e.b.capOut, nd * nk);
  const target = dropRows.map((_, d) => {
    let best = 0;
    for (let i = 1; i < nk; i++) if (sim[d * nk + i] > sim[d * nk + best]) best = i; // the first maximum
    return keptRows[best];
  });
  dropRows.forEach((d, i) => {
    const k = target[i];
    const total = sizes[k] + sizes[d];
    const wk = sizes[k] / total;
    const wd = sizes[d] / total;
    for (let c = 0; c < D; c++) x[k * D + c] = wk * x[k * D + c] + wd * x[d * D + c];
    sizes[k] = total;
  });
}

/**
 * Drops the visual rows not in `keep` from b.x (order kept), merging them first with `merge`; returns
 * the new positions, grid map and sizes.
 */
function compact(
  e: Engine,
  view: LayerView,
  keep: Int32Array,
  positions: Int32Array,
  grid: Int32Array,
  sizes: Float32Array,
  merge: boolean,
): [Int32Array, Int32Array, Float32Array] {
  const alive = new Set(view.visualIndex);
  const kept = new Set<number>();
  for (const g of keep) {
    if (!alive.has(g)) throw new Error(`pruning policy kept visual token ${g}, which is not alive`);
    kept.add(g);
  }
  if (merge) mergeDropped(e, view, kept, grid, sizes);
  const D = e.cfg.text.hidden;
  const x = f32View(e, e.b.x, positions.length * D);
  const pos: number[] = [];
  const map: number[] = [];
  const size: number[] = [];
  for (let r = 0; r < positions.length; r++) {
    if (grid[r] >= 0 && !kept.has(grid[r])) continue;
    const dst = pos.length;
    if (dst !== r) x.copyWithin(dst * D, r * D, (r + 1) * D);
    pos.push(positions[r]);
    map.push(grid[r]);
    size.push(sizes[r]);
  }
  return [Int32Array.from(pos), Int32Array.from(map), Float32Array.from(size)];
}

/** Trace only: final norm of every row and logits of every row ("llm.norm_out", "logits"). */
function traceLogits(e: Engine, rows: number): void {
  const { b } = e;
  const t = e.cfg.text;
  const D = t.hidden;
  const normed = new Float32Array(rows * D);
  const logits = new Float32Array(rows * t.vocabSize);
  for (let r = 0; r < rows; r++) {
    head(e, r);
    normed.set(f32View(e, b.h, D), r * D);
    logits.set(f32View(e, b.logits, t.vocabSize), r * t.vocabSize);
  }
  e.trace!("llm.norm_out", normed, [rows, D]);
  e.trace!("logits", logits, [rows, t.vocabSize]);
}
