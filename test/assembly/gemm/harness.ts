// Shared set-up for the GEMM/GEMV tests: random operands, the shapes and
// the float64 reference matmul, and the calls of a quantized GEMM/GEMV export by name (the variants come
// from the kernel table: test/helpers/kernels.ts).
import type { Kernels } from "../../../wasm/kernels";
import { kernelByName, type Arena } from "../../helpers/kernels";

/** Uniform values in [-amp, amp), f32. */
export function uniform(r: () => number, n: number, amp = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * amp);
}

/** y[M, N] = a[M, K] . b[N, K]^T (+ bias) in float64. */
export function matmulF64(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  n: number,
  k: number,
  bias: ArrayLike<number> | null,
): Float64Array {
  const y = new Float64Array(m * n);
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      let s = bias ? bias[c] : 0;
      for (let i = 0; i < k; i++) s += a[r * k + i] * b[c * k + i];
      y[r * n + c] = s;
    }
  }
  return y;
}

/** sum_k |a[r,k]| * |b[c,k]| for every output: the scale of a dot's rounding error. */
export function absMatmul(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  n: number,
  k: number,
): Float64Array {
  return matmulF64(Array.from(a, Math.abs), Array.from(b, Math.abs), m, n, k, null);
}

/** Shapes (M, N, K): exact tiles, tails in M, N and K, sizes below one tile, K not a multiple of 16/32. */
export const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 1, 15],
  [1, 3, 7],
  [2, 4, 16],
  [2, 4, 32],
  [3, 5, 17],
  [4, 8, 64],
  [5, 7, 33],
  [1, 13, 100],
  [7, 3, 9],
  [6, 12, 48],
  [9, 17, 130],
  [3, 6, 31],
  [16, 16, 128],
  [3, 9, 300],
  [2, 6, 576],
];

/** A quantized GEMM problem in a kernel instance: its operands (xq, xs, w, ws, aux, bias). */
export interface QProblem {
  k: Kernels;
  m: Arena;
  args: [number, number, number, number, number, number];
}

/** y [mm, n] of the quantized GEMM export `name` on `p`. */
export function runGemm(p: QProblem, name: string, mm: number, n: number, kk: number): Float32Array {
  const y = p.m.alloc(mm * n * 4);
  kernelByName(p.k, name, "qgemm")(...p.args, y, mm, n, kk);
  return p.m.readF32(y, mm * n);
}

/** y [n] of the quantized GEMV export `name` on row 0 of `p`. */
export function runGemvRow0(p: QProblem, name: string, n: number, kk: number): Float32Array {
  const y = p.m.alloc(n * 4);
  kernelByName(p.k, name, "qgemv")(...p.args, y, n, kk);
  return p.m.readF32(y, n);
}
