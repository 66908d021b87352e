// q4 GEMV (decode, M = 1); its one-row bodies (shared with the q4 GEMM) are in q4_rows.ts. Operands as q4_gemm.ts (see its
// header): xq u8 [KP] 7-bit activations, xs f32 [1], w u8 [N, KB * 16] nibbles (ggml Q4_0's order
// within a block), ws f32 [N, KG] group scales, scratch i32 [KG] (relaxed only), bias f32 [N] or 0, y f32 [N].
// Microkernel 1x8: one row x 8 channels; the integer dots of a 128-wide group accumulate per channel,
// are reduced to one i32x4 per 4 channels (lanes = channels) and accumulated in f32 as
// acc += s_w[n, g] * f32(dot). Eight channels share each block's activation loads and offsets (1x4 was
// ~25% slower, relaxed, in workerd: docs/platform.md); the last n % 8 channels take the 1x4 body.
// Requires SIMD128 (+ relaxed SIMD for __relaxed).
import { q4_f32_gemm__scalar } from "./q4_gemm";
import {
  q4_act_group_sums,
  q4_out,
  q4_row1x4_relaxed,
  q4_row1x4_simd,
  q4_row1x8_relaxed,
  q4_row1x8_simd,
} from "./q4_rows";

/** Scalar reference: the q4 GEMM reference at M = 1. */
export function q4_f32_gemv__scalar(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  scratch: usize,
  bias: usize,
  y: usize,
  n: i32,
  k: i32,
): void {
  q4_f32_gemm__scalar(xq, xs, w, ws, scratch, bias, y, 1, n, k);
}

/** Relaxed-SIMD 1x8 GEMV; scratch: i32 [KB]. Traps in the `simd` build. */
export function q4_f32_gemv_1x8__relaxed(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  scratch: usize,
  bias: usize,
  y: usize,
  n: i32,
  k: i32,
): void {
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else {
    const kb = (k + 31) >> 5;
    q4_act_group_sums(xq, scratch, 1, kb);
    const sx = load<f32>(xs);
    let j = 0;
    for (; j + 8 <= n; j += 8) q4_row1x8_relaxed(xq, scratch, w, ws, bias, y, sx, j, kb);
    for (; j < n; j += 4) {
      const acc = q4_row1x4_relaxed(xq, scratch, w, ws, j, n, kb);
      q4_out(y + ((<usize>j) << 2), acc, sx, bias, j, min(4, n - j));
    }
  }
}

/** Plain-SIMD 1x8 GEMV (nibble - 8 and xq - 64 extended to i16, i32x4.dot_i16x8_s; no scratch). */
export function q4_f32_gemv_1x8__simd(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  scratch: usize,
  bias: usize,
  y: usize,
  n: i32,
  k: i32,
): void {
  const kb = (k + 31) >> 5;
  const sx = load<f32>(xs);
  let j = 0;
  for (; j + 8 <= n; j += 8) q4_row1x8_simd(xq, w, ws, bias, y, sx, j, kb);
  for (; j < n; j += 4) {
    const acc = q4_row1x4_simd(xq, w, ws, j, n, kb);
    q4_out(y + ((<usize>j) << 2), acc, sx, bias, j, min(4, n - j));
  }
}
