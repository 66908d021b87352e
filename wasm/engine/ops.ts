// The engine's view of the kernel module: one member per op, each bound to the best variant the build
// can run (relaxed SIMD > SIMD > scalar) by the kernel table (wasm/kernels.ts `bestKernel`), and
// `linear`, which runs a Linear layer according to its weight storage: q8 / q4 quantize the activations
// (7-bit, per row) then run the integer GEMM (GEMV for one row); f32 runs the f32 GEMM.
// Everything here is pointers and sizes.
import { bestKernel, type Kernels, type Ptr, type Signatures } from "../kernels";
import type { WeightDtype } from "../quant";

/** A Linear weight in linear memory, PyTorch layout [n, k] (n outputs, k inputs). */
export interface LinearWeight {
  name: string;
  dtype: WeightDtype;
  n: number;
  k: number;
  /** f32 [n, k] | i8 [n, k] | q4 blocks u8 [n, ceil(k/32) * 16]. */
  data: Ptr;
  /** q8: f32 [n]; q4: f32 [n, ceil(k/32)]; f32: 0. */
  scales: Ptr;
  /** q8: i32 [n] row sums of the int8 weights (the relaxed GEMM's zero-point correction); else 0. */
  wsum: Ptr;
}

/** Scratch the quantized GEMMs need: 7-bit activations, their scales, and the q4 block-sum scratch. */
export interface QuantScratch {
  xq: Ptr; // u8 [rows, actStride(maxK)]
  xs: Ptr; // f32 [rows]
  aux: Ptr; // i32 [rows, q4Blocks(maxK)]
}

/** `linear`'s last argument where the input is the previous call's (reads better than a bare `true`). */
export const SAME_INPUT = true;

/** Kernel-call wrapper for one model instance. */
export class Ops {
  readonly rmsnorm: Signatures["rmsnorm"];
  readonly layernorm: Signatures["layernorm"];
  readonly rope: Signatures["rope"];
  readonly attention: Signatures["attention"];
  readonly gelu: Signatures["unary"];
  readonly swiglu: Signatures["swiglu"];
  readonly add: Signatures["add"];
  readonly argmax: Signatures["argmax"];
  readonly ropeTable: Signatures["ropeTable"];
  readonly weightSums: Signatures["weightSums"];
  private readonly quantize: Signatures["actQuantize"];
  private readonly q8gemm: Signatures["qgemm"];
  private readonly q8gemv: Signatures["qgemv"];
  private readonly q4gemm: Signatures["qgemm"];
  private readonly q4gemv: Signatures["qgemv"];
  private readonly f32gemm: Signatures["f32gemm"];
  /** The input whose activations the quantize scratch holds (for `linear`'s sameInput). */
  private quantized: { x: Ptr; m: number; k: number } | null = null;
  /** Which export each op resolved to (bench reports, /health). */
  readonly chosen: Record<string, string> = {};

  constructor(
    readonly k: Kernels,
    private readonly s: QuantScratch,
  ) {
    this.rmsnorm = this.pick("f32", "rmsnorm", "rmsnorm");
    this.layernorm = this.pick("f32", "layernorm", "layernorm");
    this.rope = this.pick("f32", "rope", "rope");
    this.attention = this.pick("f32", "attention", "attention");
    this.gelu = this.pick("f32", "gelu", "unary");
    this.swiglu = this.pick("f32", "swiglu", "swiglu");
    this.add = this.pick("f32", "add", "add");
    this.argmax = this.pick("f32", "argmax", "argmax");
    this.ropeTable = this.pick("f32", "rope_table", "ropeTable");
    this.weightSums = this.pick("q8", "weight_sums", "weightSums");
    this.quantize = this.pick("q8", "act_quantize", "actQuantize");
    this.q8gemm = this.pick("q8_f32", "gemm", "qgemm");
    this.q8gemv = this.pick("q8_f32", "gemv", "qgemv");
    this.q4gemm = this.pick("q4_f32", "gemm", "qgemm");
    this.q4gemv = this.pick("q4_f32", "gemv", "qgemv");
    this.f32gemm = this.pick("f32", "gemm", "f32gemm");
  }

  /** y[m, n] = x[m, k] . W^T (+ bias; 0 = none); x rows contiguous (stride k floats), y stride n. */
  /**
   * `sameInput`: x is the input of the previous quantized `linear` call, unchanged since (q, k, v from
   * one normed input; gate and up): its 7-bit activations are still in the scratch and are not computed
   * again. Throws when the previous call's input was not this x (same rows and width).
   */
  linear(x: Ptr, w: LinearWeight, bias: Ptr, y: Ptr, m: number, sameInput = false): void {
    const { n, k } = w;
    if (w.dtype === "f32") return this.f32gemm(x, w.data, bias, y, m, n, k);
    const { xq, xs, aux } = this.s;
    const last = this.quantized;
    if (!sameInput) this.quantize(x, xq, xs, m, k);
    else if (!last || last.x !== x || last.m !== m || last.k !== k)
      throw new Error(`linear ${w.name}: sameInput, but the scratch holds another input`);
    this.quantized = { x, m, k };
    const extra = w.dtype === "q8" ? w.wsum : aux;
    const [gemm, gemv] = w.dtype === "q8" ? [this.q8gemm, this.q8gemv] : [this.q4gemm, this.q4gemv];
    if (m === 1) gemv(xq, xs, w.data, w.scales, extra, bias, y, n, k);
    else gemm(xq, xs, w.data, w.scales, extra, bias, y, m, n, k);
  }

  /** The best variant of `dtype`_`op` this build runs (the kernel table), recorded in `chosen`. */
  private pick<S extends keyof Signatures>(dtype: string, op: string, sig: S): Signatures[S] {
    const { name, fn } = bestKernel(this.k, dtype, op, sig);
    this.chosen[`${dtype}_${op}`] = name;
    return fn;
  }
}
