// q4 GEMM (4-bit weights, 7-bit activations, f32 out): y[M, N] = dequant(xq) . dequant(W)^T (+ bias).
//   xq: u8 [M, KP] 7-bit activations (zero point 64, KP = actStride(K) = KB * 32), xs: f32 [M]
//   w:  u8 [N, KB * 16] blocks of 32 (byte i = element i low nibble | element i + 16 high nibble,
//       nibble = q + 8; ggml Q4_0's order), ws: f32 [N, KG] scales, one per group of 4 blocks (128
//       elements, the last group holds what is left); KB = ceil(K / 32), KG = ceil(KB / 4)
//   scratch: i32 [M, KG] (the __relaxed variants write activation group sums there; others ignore it)
//   bias: f32 [N] or 0 for none; y: f32 [M, N]
// Arithmetic, identical in every variant (hence bit-identical y):
//   dot[m, n, g] = sum_{i in group g} (nibble - 8) * (xq[m, i] - 64)         exact i32
//   acc = 0; for g in 0..KG-1: acc += ws[n, g] * f32(dot[m, n, g])            f32, in group order
//   y[m, n] = acc * xs[m] (+ bias[n])
// The padding contributes nothing: padded weights have nibble 8 and padded activations are 64.
// A group of 128 instead of ggml's 32 is what makes 4 bits pay: the integer dots of a group accumulate in
// the registers, and the horizontal reduction, scale and f32 accumulate run once per 128 elements. The
// GEMMs unpack each column tile's 4 channels once into signed codes (q4_tile.ts) and then run the q8
// kernel's inner loop over every row pair, so unpacking costs once per tile, not once per row:
//  - __relaxed (2x4): codes q = nibble - 8 the signed operand of i32x4.relaxed_dot_i8x16_i7x16_add_s, xq
//    the 7-bit one; sum q * xq - 64 * sum q gives dot exactly.
//  - __simd (2x4): xq - 64 and the codes sign-extended to i16, dot_i16x8_s.
import { actStride, ACT_ZERO } from "../quant/act";
import {
  q4_act_group_sums,
  q4_groups,
  q4_out,
  q4_row1x4_relaxed,
  q4_row1x4_simd,
  Q4_GROUP_BLOCKS,
} from "./q4_rows";
import { Q4_TILE_MAX_KB, q4_tile_rows_relaxed, q4_tile_rows_simd, q4_tile_unpack } from "./q4_tile";

/** Scalar reference (same signature as the SIMD variants; scratch is not used). */
export function q4_f32_gemm__scalar(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  scratch: usize,
  bias: usize,
  y: usize,
  m: i32,
  n: i32,
  k: i32,
): void {
  const kp = actStride(k);
  const kb = kp >> 5;
  const kg = q4_groups(kb);
  for (let r = 0; r < m; r++) {
    const x = xq + <usize>r * <usize>kp;
    for (let c = 0; c < n; c++) {
      const wr = w + <usize>c * <usize>(kb << 4);
      let acc: f32 = 0;
      for (let g = 0; g < kg; g++) {
        let dot = 0;
        for (let b = g * Q4_GROUP_BLOCKS; b < min(kb, (g + 1) * Q4_GROUP_BLOCKS); b++) {
          for (let i = 0; i < 16; i++) {
            const byte = <i32>load<u8>(wr + <usize>(b * 16 + i));
            const xl = <i32>load<u8>(x + <usize>(b * 32 + i)) - ACT_ZERO;
            const xh = <i32>load<u8>(x + <usize>(b * 32 + 16 + i)) - ACT_ZERO;
            dot += ((byte & 15) - 8) * xl + ((byte >> 4) - 8) * xh;
          }
        }
        acc += load<f32>(ws + ((<usize>(c * kg + g)) << 2)) * <f32>dot;
      }
      let v = acc * load<f32>(xs + ((<usize>r) << 2));
      if (bias) v += load<f32>(bias + ((<usize>c) << 2));
      store<f32>(y + ((<usize>r * <usize>n + <usize>c) << 2), v);
    }
  }
}

/**
 * Relaxed-SIMD 2x4: per column tile the 4 channels are unpacked once (q4_tile.ts), then every row pair
 * runs the q8-style inner loop against them. scratch: i32 [M, KG], used only by the row-by-row path
 * of rows longer than the tile (K > 16384). Traps in the `simd` build.
 */
export function q4_f32_gemm_2x4__relaxed(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  scratch: usize,
  bias: usize,
  y: usize,
  m: i32,
  n: i32,
  k: i32,
): void {
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else {
    const kp = actStride(k);
    const kb = kp >> 5;
    const kg = q4_groups(kb);
    if (kb > Q4_TILE_MAX_KB) q4_act_group_sums(xq, scratch, m, kb);
    for (let j = 0; j < n; j += 4) {
      if (kb > Q4_TILE_MAX_KB) {
        for (let i = 0; i < m; i++) {
          const acc = q4_row1x4_relaxed(
            xq + <usize>i * <usize>kp,
            scratch + ((<usize>i * <usize>kg) << 2),
            w,
            ws,
            j,
            n,
            kb,
          );
          q4_out(
            y + ((<usize>i * <usize>n + <usize>j) << 2),
            acc,
            load<f32>(xs + ((<usize>i) << 2)),
            bias,
            j,
            min(4, n - j),
          );
        }
        continue;
      }
      q4_tile_unpack(w, ws, j, n, kb, kg);
      let i = 0;
      for (; i + 2 <= m; i += 2) q4_tile_rows_relaxed(xq, xs, bias, y, i, true, j, n, kb, kg);
      if (i < m) q4_tile_rows_relaxed(xq, xs, bias, y, i, false, j, n, kb, kg);
    }
  }
}

/** Plain-SIMD 2x4: the same tiles, the inner loop of q8_f32_gemm_2x4__simd; scratch is not used. */
export function q4_f32_gemm_2x4__simd(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  scratch: usize,
  bias: usize,
  y: usize,
  m: i32,
  n: i32,
  k: i32,
): void {
  const kp = actStride(k);
  const kb = kp >> 5;
  const kg = q4_groups(kb);
  for (let j = 0; j < n; j += 4) {
    const nv = min(4, n - j);
    if (kb > Q4_TILE_MAX_KB) {
      for (let i = 0; i < m; i++) {
        const acc = q4_row1x4_simd(xq + <usize>i * <usize>kp, w, ws, j, n, kb);
        q4_out(
          y + ((<usize>i * <usize>n + <usize>j) << 2),
          acc,
          load<f32>(xs + ((<usize>i) << 2)),
          bias,
          j,
          nv,
        );
      }
      continue;
    }
    q4_tile_unpack(w, ws, j, n, kb, kg);
    let i = 0;
    for (; i + 2 <= m; i += 2) q4_tile_rows_simd(xq, xs, bias, y, i, true, j, n, kb, kg);
    if (i < m) q4_tile_rows_simd(xq, xs, bias, y, i, false, j, n, kb, kg);
  }
}
