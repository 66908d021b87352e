// Shared set-up for the GEMM/GEMV tests: random operands, copies into a kernel instance's memory,
// the float64 reference matmul, and the variants each build provides.
import type { Kernels } from "../../../wasm/kernels";
import { Arena } from "../../helpers/kernels";

/** Uniform values in [-amp, amp), f32. */
export function uniform(r: () => number, n: number, amp = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * amp);
}

/** Copies bytes of any typed array into the kernel memory; returns the pointer (0 for null). */
export function put(k: Kernels, m: Arena, data: ArrayBufferView | null): number {
  if (data === null) return 0;
  const p = m.alloc(Math.max(data.byteLength, 1), 16);
  new Uint8Array(k.memory.buffer, p, data.byteLength).set(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
  return p;
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

/** Names of the variants of one kernel family present (and usable) in this build. */
export function variants(k: Kernels, names: { scalar: string; simd: string; relaxed: string }): string[] {
  return k.relaxedSimd ? [names.scalar, names.simd, names.relaxed] : [names.scalar, names.simd];
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
];
