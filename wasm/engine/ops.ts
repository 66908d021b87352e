// The engine's view of the kernel module: one member per op, each bound to the best variant the build
// has (relaxed SIMD > SIMD > scalar, by the `<dtype>_<op>[_<tile>]__<isa>` names of assembly/index.ts),
// and `linear`, which runs a Linear layer according to its weight storage: q8 / q4 quantize the
// activations (7-bit, per row) then run the integer GEMM (GEMV for one row); f32 runs the f32 GEMM.
// Everything here is pointers and sizes.
import type {
  ActQuantizeKernel,
  AttentionKernel,
  F32GemmKernel,
  Kernels,
  LayerNormKernel,
  Ptr,
  QGemmKernel,
  QGemvKernel,
  RmsNormKernel,
  RopeKernel,
  WeightSumsKernel,
} from "../kernels";

/** A Linear weight in linear memory, PyTorch layout [n, k] (n outputs, k inputs). */
export interface LinearWeight {
  name: string;
  dtype: "f32" | "q8" | "q4";
  n: number;
  k: number;
  /** f32 [n, k] | i8 [n, k] | q4 blocks u8 [n, ceil(k/32) * 16]. */
  data: Ptr;
  /** q8: f32 [n]; q4: f32 [n, ceil(k/32)]; f32: 0. */
  scales: Ptr;
  /** q8: i32 [n] row sums of the int8 weights (the relaxed GEMM's zero-point correction); else 0. */
  wsum: Ptr;
}

/** Row stride in bytes of 7-bit quantized activations with k inputs (assembly/quant/act.ts). */
export const actStride = (k: number) => (k + 31) & ~31;
/** q4 blocks per row of k inputs (32 weights per block, /tmp/quant.md). */
export const q4Blocks = (k: number) => Math.ceil(k / 32);

/** Scratch the quantized GEMMs need: 7-bit activations, their scales, and the q4 block-sum scratch. */
export interface QuantScratch {
  xq: Ptr; // u8 [rows, actStride(maxK)]
  xs: Ptr; // f32 [rows]
  aux: Ptr; // i32 [rows, q4Blocks(maxK)]
}

/** Kernel-call wrapper for one model instance. */
export class Ops {
  readonly rmsnorm: RmsNormKernel;
  readonly layernorm: LayerNormKernel;
  readonly rope: RopeKernel;
  readonly attention: AttentionKernel;
  readonly gelu: (x: Ptr, out: Ptr, n: number) => void;
  readonly swiglu: (gate: Ptr, up: Ptr, out: Ptr, n: number) => void;
  readonly add: (a: Ptr, b: Ptr, out: Ptr, n: number) => void;
  readonly argmax: (x: Ptr, n: number) => number;
  readonly ropeTable: (table: Ptr, maxPos: number, half: number, theta: number) => void;
  readonly weightSums: WeightSumsKernel;
  private readonly quantize: ActQuantizeKernel;
  private readonly q8gemm: QGemmKernel;
  private readonly q8gemv: QGemvKernel;
  private readonly q4gemm: QGemmKernel;
  private readonly q4gemv: QGemvKernel;
  private readonly f32gemm: F32GemmKernel;
  /** Which export each op resolved to (bench reports, /health). */
  readonly chosen: Record<string, string> = {};

  constructor(
    readonly k: Kernels,
    private readonly s: QuantScratch,
  ) {
    this.rmsnorm = this.pick("f32_rmsnorm");
    this.layernorm = this.pick("f32_layernorm");
    this.rope = this.pick("f32_rope");
    this.attention = this.pick("f32_attention");
    this.gelu = this.pick("f32_gelu");
    this.swiglu = this.pick("f32_swiglu");
    this.add = this.pick("f32_add");
    this.argmax = this.pick("f32_argmax");
    this.ropeTable = this.pick("f32_rope_table");
    this.weightSums = this.pick("q8_weight_sums");
    this.quantize = this.pick("q8_act_quantize");
    this.q8gemm = this.pick("q8_f32_gemm");
    this.q8gemv = this.pick("q8_f32_gemv");
    this.q4gemm = this.pick("q4_f32_gemm");
    this.q4gemv = this.pick("q4_f32_gemv");
    this.f32gemm = this.pick("f32_gemm");
  }

  /** y[m, n] = x[m, k] . W^T (+ bias; 0 = none); x rows contiguous (stride k floats), y stride n. */
  linear(x: Ptr, w: LinearWeight, bias: Ptr, y: Ptr, m: number): void {
    const { n, k } = w;
    if (w.dtype === "f32") return this.f32gemm(x, w.data, bias, y, m, n, k);
    const { xq, xs, aux } = this.s;
    this.quantize(x, xq, xs, m, k);
    const extra = w.dtype === "q8" ? w.wsum : aux;
    const [gemm, gemv] = w.dtype === "q8" ? [this.q8gemm, this.q8gemv] : [this.q4gemm, this.q4gemv];
    if (m === 1) gemv(xq, xs, w.data, w.scales, extra, bias, y, n, k);
    else gemm(xq, xs, w.data, w.scales, extra, bias, y, m, n, k);
  }

  /**
   * The best variant of `op`: the export named `op[_<tile>]__relaxed` (relaxed builds only), else
   * `__simd`, else `__scalar`. Throws when the build has none.
   */
  private pick<F>(op: string): F {
    const isas = this.k.relaxedSimd ? ["relaxed", "simd", "scalar"] : ["simd", "scalar"];
    const names = Object.keys(this.k.exports);
    const shape = new RegExp(`^${op}(_\\d+x\\d+)?__(\\w+)$`);
    for (const isa of isas) {
      const name = names.find((n) => shape.exec(n)?.[2] === isa);
      if (name) {
        this.chosen[op] = name;
        return this.k.exports[name] as F;
      }
    }
    throw new Error(`kernels: no variant of ${op} in this build`);
  }
}
