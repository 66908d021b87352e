// The kernel table: every kernel the module exports, one row each (dtype, op, tile, ISA, signature, the
// AssemblyScript file that defines it). Everything else comes from it: `assembly/index.ts` (the export
// list, written by tools/build/kernels.ts), the typed `KernelExports`, the engine's choice of variant
// (`bestKernel`), the kernel test families (`kernelVariants`) and the benchmark's list. Adding a kernel
// variant is one row here plus its code. Export names follow <dtype>_<op>[_<tile>]__<isa>
// (docs/architecture.md); every op has a __scalar reference with the same signature.
// Every build (KERNEL_BUILDS) exports every row; __relaxed and __relaxed_split rows trap in the
// plain-SIMD build.

/** Feature bits reported by `build_features()`. */
export const FEATURE_SIMD = 1;
export const FEATURE_RELAXED_SIMD = 2;

/**
 * The builds of the kernel module (asconfig.json targets, wasm/build/kernels.<build>.wasm), bit-identical
 * in what they compute (test/assembly/): `relaxed` (relaxed SIMD: the int8 dot fused,
 * i32x4.relaxed_dot_i8x16_i7x16_add_s) and `simd` (plain SIMD128: the dot from i8 -> i16 widening and
 * i32x4.dot_i16x8_s, for engines without relaxed SIMD).
 */
export const KERNEL_BUILDS = ["relaxed", "simd"] as const;
export type KernelBuildName = (typeof KERNEL_BUILDS)[number];

/**
 * How the engine runs the fused int8 dot, read from `rdot_probe` (assembly/features.ts) without a clock
 * (on Cloudflare's network the clock stands still during compute): on bytes outside the 7-bit range each
 * lowering answers its own way. `emulated`: pmaddubsw's saturation shows (255 x -128 twice clamps to
 * -32768 per pair: -65536 per lane), V8's three-instruction form on an x64 CPU without AVX-VNNI;
 * `fused`: a native dot (vpdpbusd: -130560; a signed dot such as Arm's sdot: 512); `none`: a build
 * without relaxed SIMD. It tells the host classes apart that differ ~2x in speed (docs/platform.md), so
 * the cost table keeps a row for each (wasm/engine/cost.ts `platformKey`).
 */
export type RdotLowering = "fused" | "emulated" | "none";

export function rdotLowering(k: Pick<Kernels, "exports" | "relaxedSimd">): RdotLowering {
  if (!k.relaxedSimd) return "none";
  return k.exports.rdot_probe(1) === -65536 ? "emulated" : "fused";
}

/** Pointers are byte offsets into the kernel module's linear memory. */
export type Ptr = number;

/** x f32 [m, k] -> xq u8 [m, actStride(k)] (7-bit, zero point 64, padding 64) and xs f32 [m] scales. */
export type ActQuantizeKernel = (x: Ptr, xq: Ptr, xs: Ptr, m: number, k: number) => void;
/** Row sums i32 [n] of q8 weights i8 [n, k] (load time, for the relaxed q8 kernels). */
export type WeightSumsKernel = (w: Ptr, out: Ptr, n: number, k: number) => void;
/**
 * Quantized GEMM, y f32 [m, n] = xq . W^T (+ bias; 0 = none). xq u8 [m, actStride(k)], xs f32 [m].
 * q8: w i8 [n, k], ws f32 [n], aux = wsum i32 [n] (q8_weight_sums). q4: w u8 [n, ceil(k/32)*16],
 * ws f32 [n, ceil(k/128)], aux = scratch i32 [m, ceil(k/128)] written by the relaxed row paths.
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
 * 0..cacheLen - mq + i. scores: scratch f32 [2 * cacheLen]. capRows i32 [capCount] -> capOut f32
 * [capCount, cacheLen]: head-averaged probabilities of those query rows (capCount 0 = none). v = 0: the
 * probabilities only (no weighted sum of values; out is not written).
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
  /** 0, or f32 [cacheLen] added to each key's scores (log sizes: proportional attention) */
  keyBias: Ptr,
  scores: Ptr,
  capRows: Ptr,
  capCount: number,
  capOut: Ptr,
) => void;

/** A kernel's signature, by the name a table row gives it. */
export interface Signatures {
  add: (a: Ptr, b: Ptr, out: Ptr, n: number) => void;
  rmsnorm: RmsNormKernel;
  layernorm: LayerNormKernel;
  /** rows of x [m, n] -> out (may alias) */
  softmax: (x: Ptr, out: Ptr, m: number, n: number) => void;
  unary: (x: Ptr, out: Ptr, n: number) => void;
  swiglu: (gate: Ptr, up: Ptr, out: Ptr, n: number) => void;
  /** x [m, n] += b [n] */
  biasAdd: (x: Ptr, b: Ptr, m: number, n: number) => void;
  /** table [maxPos, 2, half]: cos then sin of pos * theta^(-i / half) */
  ropeTable: (table: Ptr, maxPos: number, half: number, theta: number) => void;
  rope: RopeKernel;
  /** ties -> lowest index, NaN ignored */
  argmax: (x: Ptr, n: number) => number;
  topk: TopKKernel;
  attention: AttentionKernel;
  actQuantize: ActQuantizeKernel;
  weightSums: WeightSumsKernel;
  qgemm: QGemmKernel;
  qgemv: QGemvKernel;
  f32gemm: F32GemmKernel;
}

/**
 * Instruction set of a variant, best last where the int8 dot is fused. `relaxed_split`: relaxed SIMD with
 * the int8 dot split in two instructions (assembly/gemm/q8_rows.ts rdot), bit-identical to `relaxed` and
 * faster where V8 emulates the fused dot (`rdotLowering` "emulated"), so there it ranks above `relaxed`
 * (`isaRank`).
 */
export const ISAS = ["scalar", "simd", "relaxed_split", "relaxed"] as const;
export type Isa = (typeof ISAS)[number];

/** Whether a variant needs relaxed SIMD. */
export function isRelaxed(isa: Isa): boolean {
  return isa === "relaxed" || isa === "relaxed_split";
}

/** A variant's rank on a host whose int8 dot lowers as `int8Dot` (higher is preferred). */
export function isaRank(isa: Isa, int8Dot: RdotLowering): number {
  if (int8Dot === "emulated" && isa === "relaxed_split") return ISAS.length;
  return ISAS.indexOf(isa);
}

/** One kernel: `file` is relative to assembly/ (without .ts). */
export interface KernelRow {
  readonly dtype: string;
  readonly op: string;
  readonly tile: string;
  readonly isa: Isa;
  readonly sig: keyof Signatures;
  readonly file: string;
}

const row = <D extends string, O extends string, T extends string, I extends Isa, S extends keyof Signatures>(
  dtype: D,
  op: O,
  tile: T,
  isa: I,
  sig: S,
  file: string,
) => ({ dtype, op, tile, isa, sig, file }) as const;

/** Every kernel of the module. */
export const KERNELS = [
  row("f32", "add", "", "scalar", "add", "elementwise/add"),
  row("f32", "add", "", "simd", "add", "elementwise/add"),
  row("f32", "rmsnorm", "", "scalar", "rmsnorm", "ops/norm"),
  row("f32", "rmsnorm", "", "simd", "rmsnorm", "ops/norm"),
  row("f32", "layernorm", "", "scalar", "layernorm", "ops/norm"),
  row("f32", "layernorm", "", "simd", "layernorm", "ops/norm"),
  row("f32", "softmax", "", "scalar", "softmax", "ops/softmax"),
  row("f32", "softmax", "", "simd", "softmax", "ops/softmax"),
  row("f32", "gelu", "", "scalar", "unary", "ops/activation"),
  row("f32", "gelu", "", "simd", "unary", "ops/activation"),
  row("f32", "swiglu", "", "scalar", "swiglu", "ops/activation"),
  row("f32", "swiglu", "", "simd", "swiglu", "ops/activation"),
  row("f32", "bias_add", "", "scalar", "biasAdd", "ops/activation"),
  row("f32", "bias_add", "", "simd", "biasAdd", "ops/activation"),
  row("f32", "rope_table", "", "scalar", "ropeTable", "ops/rope"),
  row("f32", "rope", "", "scalar", "rope", "ops/rope"),
  row("f32", "rope", "", "simd", "rope", "ops/rope"),
  row("f32", "argmax", "", "scalar", "argmax", "ops/select"),
  row("f32", "argmax", "", "simd", "argmax", "ops/select"),
  row("f32", "topk", "", "scalar", "topk", "ops/select"),
  row("f32", "topk", "", "simd", "topk", "ops/select"),
  row("f32", "attention", "", "scalar", "attention", "attention/scalar"),
  row("f32", "attention", "", "simd", "attention", "attention/simd"),
  row("f32", "attention", "", "relaxed", "attention", "attention/simd"),
  row("q8", "act_quantize", "", "scalar", "actQuantize", "quant/act"),
  row("q8", "act_quantize", "", "simd", "actQuantize", "quant/act"),
  row("q8", "weight_sums", "", "scalar", "weightSums", "quant/wsum"),
  row("q8", "weight_sums", "", "simd", "weightSums", "quant/wsum"),
  row("q8_f32", "gemm", "", "scalar", "qgemm", "gemm/q8_gemm"),
  row("q8_f32", "gemm", "2x4", "simd", "qgemm", "gemm/q8_gemm"),
  row("q8_f32", "gemm", "2x4", "relaxed_split", "qgemm", "gemm/q8_gemm"),
  row("q8_f32", "gemm", "2x4", "relaxed", "qgemm", "gemm/q8_gemm"),
  row("q8_f32", "gemv", "", "scalar", "qgemv", "gemm/q8_gemv"),
  row("q8_f32", "gemv", "1x8", "simd", "qgemv", "gemm/q8_gemv"),
  row("q8_f32", "gemv", "1x8", "relaxed_split", "qgemv", "gemm/q8_gemv"),
  row("q8_f32", "gemv", "1x8", "relaxed", "qgemv", "gemm/q8_gemv"),
  row("q4_f32", "gemm", "", "scalar", "qgemm", "gemm/q4_gemm"),
  row("q4_f32", "gemm", "2x4", "simd", "qgemm", "gemm/q4_gemm"),
  row("q4_f32", "gemm", "2x4", "relaxed", "qgemm", "gemm/q4_gemm"),
  row("q4_f32", "gemv", "", "scalar", "qgemv", "gemm/q4_gemv"),
  row("q4_f32", "gemv", "1x8", "simd", "qgemv", "gemm/q4_gemv"),
  row("q4_f32", "gemv", "1x8", "relaxed", "qgemv", "gemm/q4_gemv"),
  row("f32", "gemm", "", "scalar", "f32gemm", "gemm/f32_gemm"),
  row("f32", "gemm", "2x4", "simd", "f32gemm", "gemm/f32_gemm"),
] as const;

type Row = (typeof KERNELS)[number];
/** The export name of a row: <dtype>_<op>[_<tile>]__<isa>. */
export type KernelName<R extends KernelRow = Row> = `${R["dtype"]}_${R["op"]}${R["tile"] extends ""
  ? ""
  : `_${R["tile"]}`}__${R["isa"]}`;

/** The export name of a row (as KernelName). */
export function kernelName(r: KernelRow): string {
  return `${r.dtype}_${r.op}${r.tile ? `_${r.tile}` : ""}__${r.isa}`;
}

/** The exports of the kernel module: the table's rows with their signatures, and the build's facts. */
export type KernelExports = {
  memory: WebAssembly.Memory;
  build_features(): number;
  /** Lane 0 of the relaxed dot on out-of-range bytes (`rdotLowering`); 0 without relaxed SIMD. */
  rdot_probe(swap: number): number;
  /** First byte of linear memory no static data uses. */
  heap_base(): Ptr;
} & { [R in Row as KernelName<R>]: Signatures[R["sig"]] };

/** An instantiated kernel module and what it was built with. */
export interface Kernels {
  exports: KernelExports;
  memory: WebAssembly.Memory;
  simd: boolean;
  relaxedSimd: boolean;
  /** Which of KERNEL_BUILDS this is, from its feature bits. */
  build: KernelBuildName;
  /** How V8 runs the fused int8 dot here (`rdotLowering`): decides between the relaxed variants. */
  int8Dot: RdotLowering;
}

/** Instantiates a compiled kernel module (no imports: kernels are pure functions over memory). */
export async function instantiateKernels(module: WebAssembly.Module): Promise<Kernels> {
  const instance = await WebAssembly.instantiate(module, {});
  const exports = instance.exports as unknown as KernelExports;
  const bits = exports.build_features();
  const relaxedSimd = (bits & FEATURE_RELAXED_SIMD) !== 0;
  const k: Omit<Kernels, "int8Dot"> = {
    exports,
    memory: exports.memory,
    simd: (bits & FEATURE_SIMD) !== 0,
    relaxedSimd,
    build: relaxedSimd ? "relaxed" : "simd",
  };
  return { ...k, int8Dot: rdotLowering(k) };
}

/** Whether a row can run on `k` (a relaxed row traps in the plain-SIMD build). */
export function usable(k: Kernels, r: KernelRow): boolean {
  return !isRelaxed(r.isa) || k.relaxedSimd;
}

/** The rows of one op (dtype + op) that can run on `k`, scalar reference first, best for this host last. */
export function kernelVariants(k: Kernels, dtype: string, op: string): KernelRow[] {
  const rows = KERNELS.filter((r) => r.dtype === dtype && r.op === op && usable(k, r));
  if (!rows.some((r) => r.isa === "scalar")) throw new Error(`kernels: ${dtype}_${op} has no __scalar row`);
  return rows.sort((a, b) => isaRank(a.isa, k.int8Dot) - isaRank(b.isa, k.int8Dot));
}

/** A row's function in `k`'s exports. */
export function kernelFn<S extends keyof Signatures>(k: Kernels, r: KernelRow & { sig: S }): Signatures[S] {
  return (k.exports as unknown as Record<string, Signatures[S]>)[kernelName(r)];
}

/** The best variant `k` can run of one op (by `isaRank` on this host), with its export name. */
export function bestKernel<S extends keyof Signatures>(
  k: Kernels,
  dtype: string,
  op: string,
  sig: S,
): { name: string; fn: Signatures[S] } {
  const r = kernelVariants(k, dtype, op).at(-1)!;
  if (r.sig !== sig) throw new Error(`kernels: ${kernelName(r)} has signature ${r.sig}, not ${sig}`);
  return { name: kernelName(r), fn: kernelFn(k, r as KernelRow & { sig: S }) };
}
