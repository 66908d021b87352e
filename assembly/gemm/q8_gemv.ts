// q8 GEMV (decode, M = 1): y[N] = dequant(xq)[K] . dequant(W)[N, K]^T (+ bias[N]); the same operands
// and arithmetic as q8_gemm.ts (see its header) with one activation row: xq u8 [KP], xs f32 [1].
// Microkernel 1x8c16: one row x 8 channels, one i32x4 accumulator per channel, so each 16-byte activation
// load serves eight weight rows and 8 independent chains keep the dot unit busy (1x4 measured 20-25%
// slower in workerd on a VNNI EPYC: docs/platform.md); the last n % 8 channels take the 1x4 body, which
// also serves the GEMM's M % 2 tail (q8_rows.ts). __relaxed and __relaxed_split differ only in the form
// of the dot (rdot in q8_rows.ts), bit-identical. Requires SIMD128 (+ relaxed SIMD for both).
import { load4, outRow, rowPtr } from "./common";
import { q8_f32_gemm__scalar } from "./q8_gemm";
import {
  FusedDot,
  q8_row1x4_relaxed,
  q8_row1x4_simd,
  q8_row1x8_relaxed,
  q8_row1x8_simd,
  SplitDot,
} from "./q8_rows";

/** Scalar reference: the q8 GEMM reference at M = 1. */
export function q8_f32_gemv__scalar(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  wsum: usize,
  bias: usize,
  y: usize,
  n: i32,
  k: i32,
): void {
  q8_f32_gemm__scalar(xq, xs, w, ws, wsum, bias, y, 1, n, k);
}

/** The relaxed 1x8c16 GEMV with the dot form D. */
function gemv_1x8_relaxed<D>(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  wsum: usize,
  bias: usize,
  y: usize,
  n: i32,
  k: i32,
): void {
  const k16 = k & ~15;
  const sx = load<f32>(xs);
  let j = 0;
  for (; j + 8 <= n; j += 8) q8_row1x8_relaxed<D>(xq, w, ws, wsum, bias, y, sx, j, k16, k);
  for (; j < n; j += 4) {
    const nv = min(4, n - j);
    const corr = i32x4.shl(load4(wsum, j, nv), 6);
    const bv = bias ? load4(bias, j, nv) : i32x4.splat(0);
    const w0 = rowPtr(w, j, 0, n, k);
    const w1 = rowPtr(w, j, 1, n, k);
    const w2 = rowPtr(w, j, 2, n, k);
    const w3 = rowPtr(w, j, 3, n, k);
    const r = q8_row1x4_relaxed<D>(xq, w0, w1, w2, w3, corr, k16, k);
    outRow(y + ((<usize>j) << 2), r, sx, load4(ws, j, nv), bias, bv, nv);
  }
}

/** Relaxed-SIMD 1x8c16 GEMV, the fused dot. Traps in the `simd` build. */
export function q8_f32_gemv_1x8__relaxed(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  wsum: usize,
  bias: usize,
  y: usize,
  n: i32,
  k: i32,
): void {
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else gemv_1x8_relaxed<FusedDot>(xq, xs, w, ws, wsum, bias, y, n, k);
}

/** The same with the split dot, bit-identical. Traps in the `simd` build. */
export function q8_f32_gemv_1x8__relaxed_split(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  wsum: usize,
  bias: usize,
  y: usize,
  n: i32,
  k: i32,
): void {
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else gemv_1x8_relaxed<SplitDot>(xq, xs, w, ws, wsum, bias, y, n, k);
}

/** Plain-SIMD 1x8c16 GEMV (extend to i16 + i32x4.dot_i16x8_s; wsum is not read). */
export function q8_f32_gemv_1x8__simd(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  wsum: usize,
  bias: usize,
  y: usize,
  n: i32,
  k: i32,
): void {
  const k16 = k & ~15;
  const sx = load<f32>(xs);
  let j = 0;
  for (; j + 8 <= n; j += 8) q8_row1x8_simd(xq, w, ws, bias, y, sx, j, k16, k);
  for (; j < n; j += 4) {
    const nv = min(4, n - j);
    const bv = bias ? load4(bias, j, nv) : i32x4.splat(0);
    const w0 = rowPtr(w, j, 0, n, k);
    const w1 = rowPtr(w, j, 1, n, k);
    const w2 = rowPtr(w, j, 2, n, k);
    const w3 = rowPtr(w, j, 3, n, k);
    const r = q8_row1x4_simd(xq, w0, w1, w2, w3, k16, k);
    outRow(y + ((<usize>j) << 2), r, sx, load4(ws, j, nv), bias, bv, nv);
  }
}
