// The kernel module as the engine sees it: instantiation from a compiled WebAssembly.Module (workerd
// forbids compiling from bytes, so callers import the .wasm as a module) and the typed export list.

/** Feature bits reported by `build_features()`. */
export const FEATURE_SIMD = 1;
export const FEATURE_RELAXED_SIMD = 2;

/** Pointers are byte offsets into the kernel module's linear memory. */
export type Ptr = number;

/** Exports every build has; kernels are added here as assembly/index.ts registers them. */
export interface KernelExports {
  memory: WebAssembly.Memory;
  build_features(): number;
  heap_base(): Ptr;
  f32_add__scalar(a: Ptr, b: Ptr, out: Ptr, n: number): void;
  f32_add__simd(a: Ptr, b: Ptr, out: Ptr, n: number): void;
  // assembly/ops/norm.ts: x, out [m, n]; w, b [n]
  f32_rmsnorm__scalar: RmsNormKernel;
  f32_rmsnorm__simd: RmsNormKernel;
  f32_layernorm__scalar: LayerNormKernel;
  f32_layernorm__simd: LayerNormKernel;
  // assembly/ops/softmax.ts: rows of x [m, n] -> out (may alias)
  f32_softmax__scalar(x: Ptr, out: Ptr, m: number, n: number): void;
  f32_softmax__simd(x: Ptr, out: Ptr, m: number, n: number): void;
  // assembly/ops/activation.ts
  f32_gelu__scalar(x: Ptr, out: Ptr, n: number): void;
  f32_gelu__simd(x: Ptr, out: Ptr, n: number): void;
  f32_swiglu__scalar(gate: Ptr, up: Ptr, out: Ptr, n: number): void;
  f32_swiglu__simd(gate: Ptr, up: Ptr, out: Ptr, n: number): void;
  f32_bias_add__scalar(x: Ptr, b: Ptr, m: number, n: number): void;
  f32_bias_add__simd(x: Ptr, b: Ptr, m: number, n: number): void;
  // assembly/ops/rope.ts: table [maxPos, 2, headDim/2]; x [m, heads, headDim] row stride ld; pos i32 [m]
  f32_rope_table__scalar(table: Ptr, maxPos: number, half: number, theta: number): void;
  f32_rope__scalar: RopeKernel;
  f32_rope__simd: RopeKernel;
  // assembly/ops/select.ts: ties -> lowest index, NaN ignored; top-k returns the count written
  f32_argmax__scalar(x: Ptr, n: number): number;
  f32_argmax__simd(x: Ptr, n: number): number;
  f32_topk__scalar: TopKKernel;
  f32_topk__simd: TopKKernel;
  // assembly/attention/: contract in assembly/attention/scalar.ts
  f32_attention__scalar: AttentionKernel;
  f32_attention__simd: AttentionKernel;
  /** relaxed_madd variant: present in both builds, traps where `relaxedSimd` is false. */
  f32_attention__relaxed: AttentionKernel;
  // assembly/quant/, assembly/gemm/: layouts in wasm/quant.ts; __relaxed kernels trap in the simd build
  q8_act_quantize__scalar: ActQuantizeKernel;
  q8_act_quantize__simd: ActQuantizeKernel;
  q8_weight_sums__scalar: WeightSumsKernel;
  q8_weight_sums__simd: WeightSumsKernel;
  q8_f32_gemm__scalar: QGemmKernel;
  q8_f32_gemm_2x4__simd: QGemmKernel;
  q8_f32_gemm_2x4__relaxed: QGemmKernel;
  q8_f32_gemv__scalar: QGemvKernel;
  q8_f32_gemv_1x4__simd: QGemvKernel;
  q8_f32_gemv_1x4__relaxed: QGemvKernel;
  q4_f32_gemm__scalar: QGemmKernel;
  q4_f32_gemm_1x4__simd: QGemmKernel;
  q4_f32_gemm_2x4__relaxed: QGemmKernel;
  q4_f32_gemv__scalar: QGemvKernel;
  q4_f32_gemv_1x4__simd: QGemvKernel;
  q4_f32_gemv_1x4__relaxed: QGemvKernel;
  f32_gemm__scalar: F32GemmKernel;
  f32_gemm_2x4__simd: F32GemmKernel;
  // assembly/gemm/peak.ts (benchmark only): 8 multiply-accumulates per iteration on L1-resident data
  peak_relaxed_dot(iters: number, seed: number): number;
  peak_relaxed_dot_split(iters: number, seed: number): number;
  peak_dot_i16x8(iters: number, seed: number): number;
  peak_f32x4_muladd(iters: number, seed: number): number;
  [name: string]: unknown;
}

/** x f32 [m, k] -> xq u8 [m, actStride(k)] (7-bit, zero point 64, padding 64) and xs f32 [m] scales. */
export type ActQuantizeKernel = (x: Ptr, xq: Ptr, xs: Ptr, m: number, k: number) => void;
/** Row sums i32 [n] of q8 weights i8 [n, k] (load time, for the relaxed q8 kernels). */
export type WeightSumsKernel = (w: Ptr, out: Ptr, n: number, k: number) => void;
/**
 * Quantized GEMM, y f32 [m, n] = xq . W^T (+ bias; 0 = none). xq u8 [m, actStride(k)], xs f32 [m].
 * q8: w i8 [n, k], ws f32 [n], aux = wsum i32 [n] (q8_weight_sums). q4: w u8 [n, ceil(k/32)*16],
 * ws f32 [n, ceil(k/32)], aux = scratch i32 [m, ceil(k/32)] written by the relaxed variants.
 */
export type QGemmKernel = (
  xq: Ptr,
  xs: Ptr,
  w: Ptr,
  ws: Ptr,
  aux: Ptr,
  bias: Ptr,
  y: Ptr,
  m: number,
  n: number,
  k: number,
) => void;
/** Quantized GEMV (m = 1): the QGemmKernel operands without m. */
export type QGemvKernel = (
  xq: Ptr,
  xs: Ptr,
  w: Ptr,
  ws: Ptr,
  aux: Ptr,
  bias: Ptr,
  y: Ptr,
  n: number,
  k: number,
) => void;
/** y f32 [m, n] = x f32 [m, k] . w f32 [n, k]^T (+ bias f32 [n]; 0 = none). */
export type F32GemmKernel = (x: Ptr, w: Ptr, bias: Ptr, y: Ptr, m: number, n: number, k: number) => void;

/** x, w: [m, n] rows and [n] weight -> out [m, n]: x / sqrt(mean(x^2) + eps) * w. */
export type RmsNormKernel = (x: Ptr, w: Ptr, out: Ptr, m: number, n: number, eps: number) => void;
/** x [m, n], weight w and bias b [n] -> out [m, n]: (x - mean) / sqrt(var + eps) * w + b. */
export type LayerNormKernel = (x: Ptr, w: Ptr, b: Ptr, out: Ptr, m: number, n: number, eps: number) => void;
/** In-place RoPE (rotate_half pairs (i, i + headDim/2)) at the i32 positions `pos` [m], cos/sin from `table`. */
export type RopeKernel = (
  x: Ptr,
  ld: number,
  m: number,
  heads: number,
  headDim: number,
  pos: Ptr,
  table: Ptr,
) => void;
/** Top-k of x [n] into outIdx i32 [k] and outVal f32 [k], descending; returns the count written. */
export type TopKKernel = (x: Ptr, n: number, k: number, outIdx: Ptr, outVal: Ptr) => number;
/**
 * Attention of mq query rows over a KV cache. q [mq, hq, d] (row stride ldQ floats), k/v [cacheLen, hkv, d]
 * (row stride ldKv), out [mq, hq, d] (row stride ldO). causal != 0: query row i sees cache rows
 * 0..cacheLen - mq + i. scores: scratch f32 [cacheLen]. capRows i32 [capCount] -> capOut f32
 * [capCount, cacheLen]: head-averaged probabilities of those query rows (capCount 0 = none).
 */
export type AttentionKernel = (
  q: Ptr,
  ldQ: number,
  k: Ptr,
  v: Ptr,
  ldKv: number,
  out: Ptr,
  ldO: number,
  mq: number,
  hq: number,
  hkv: number,
  d: number,
  cacheLen: number,
  causal: number,
  scores: Ptr,
  capRows: Ptr,
  capCount: number,
  capOut: Ptr,
) => void;

/** An instantiated kernel module and what it was built with. */
export interface Kernels {
  exports: KernelExports;
  memory: WebAssembly.Memory;
  simd: boolean;
  relaxedSimd: boolean;
}

/** Instantiates a compiled kernel module (no imports: kernels are pure functions over memory). */
export async function instantiateKernels(module: WebAssembly.Module): Promise<Kernels> {
  const instance = await WebAssembly.instantiate(module, {});
  const exports = instance.exports as unknown as KernelExports;
  const bits = exports.build_features();
  return {
    exports,
    memory: exports.memory,
    simd: (bits & FEATURE_SIMD) !== 0,
    relaxedSimd: (bits & FEATURE_RELAXED_SIMD) !== 0,
  };
}
