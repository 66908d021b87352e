// q8 GEMM (W8A8, f32 out): y[M, N] = dequant(xq)[M, K] . dequant(W)[N, K]^T (+ bias[N]).
//   xq: u8 [M, KP] 7-bit activations (zero point 64, KP = actStride(K)), xs: f32 [M] their scales
//   w:  i8 [N, K] weights (row stride K), ws: f32 [N] scales, wsum: i32 [N] = q8_weight_sums(w)
//   bias: f32 [N] or 0 for none; y: f32 [M, N]
// Integer core per (m, n): dot = sum_k w[n,k] * (xq[m,k] - 64), exact in i32 for K < 2^17; then
// y = f32(dot) * (xs[m] * ws[n]) (+ bias[n]). All variants give the same dot, hence bit-identical y.
//
// Microkernel 2x4c16: a tile of 2 rows x 4 output channels, 16 K-bytes per step, one i32x4
// accumulator per (row, channel) pair (8 accumulators + 2 activation + 1 weight vector + temporaries
// fit the 15 xmm registers V8 allocates on x64; 3x4, 4x3, 4x4, 2x5 and 5x2 measured the same within
// noise, since the dot instructions, not loads or registers, bound the loop). After the K loop each
// row's four accumulators are reduced to one i32x4 holding the 4 channels (hsum4_i32) and sent
// through the f32 output stage 4 lanes wide. Tails: N % 4 by clamping channel pointers to the last
// channel and storing only valid lanes; M % 2 by a 1x4 pass; K % 16 by a scalar integer tail added
// to the reduced dots. No memory is read past any operand.
//  - __relaxed: acc = i32x4.relaxed_dot_i8x16_i7x16_add_s(w, xq, acc) (rdot in q8_rows.ts; w signed,
//    xq in 0..127, so the result is the same on every CPU), dot = sum w * xq - 64 * wsum[n].
//    __relaxed_split: the same dot split in two instructions (rdot's SplitDot; faster where the CPU has
//    no VNNI), bit-identical. Only in the relaxed build: in the `simd` build they trap (unreachable).
//  - __simd: xq - 64 in i8, sign-extend both to i16, i32x4.dot_i16x8_s; wsum is not read.
import { actStride, ACT_ZERO } from "../quant/act";
import { dotTail, hsum4_i32, load4, outRow, rowPtr } from "./common";
import {
  FusedDot,
  K_ONES16,
  q8_row1x4_relaxed,
  q8_row1x4_simd,
  rdot,
  SplitDot,
  tail4,
  tail4z,
} from "./q8_rows";

/** Scalar reference (same signature as the SIMD variants; wsum is not read). */
export function q8_f32_gemm__scalar(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  wsum: usize,
  bias: usize,
  y: usize,
  m: i32,
  n: i32,
  k: i32,
): void {
  const kp = actStride(k);
  for (let r = 0; r < m; r++) {
    const x = xq + <usize>r * <usize>kp;
    const sx = load<f32>(xs + ((<usize>r) << 2));
    for (let c = 0; c < n; c++) {
      const dot = dotTail(x, w + <usize>c * <usize>k, 0, k, ACT_ZERO);
      let v = <f32>dot * (sx * load<f32>(ws + ((<usize>c) << 2)));
      if (bias) v += load<f32>(bias + ((<usize>c) << 2));
      store<f32>(y + ((<usize>r * <usize>n + <usize>c) << 2), v);
    }
  }
}

/** The relaxed 2x4c16 microkernel with the dot form D (rdot in q8_rows.ts). */
function gemm_2x4_relaxed<D>(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  wsum: usize,
  bias: usize,
  y: usize,
  m: i32,
  n: i32,
  k: i32,
): void {
  const kp = actStride(k);
  const k16 = k & ~15;
  const z = i32x4.splat(0);
  const ones = v128.load(K_ONES16);
  for (let j = 0; j < n; j += 4) {
    const nv = min(4, n - j);
    const w0 = rowPtr(w, j, 0, n, k);
    const w1 = rowPtr(w, j, 1, n, k);
    const w2 = rowPtr(w, j, 2, n, k);
    const w3 = rowPtr(w, j, 3, n, k);
    const wsv = load4(ws, j, nv);
    const corr = i32x4.shl(load4(wsum, j, nv), 6); // 64 * wsum
    const bv = bias ? load4(bias, j, nv) : z;
    const yj = y + ((<usize>j) << 2);
    let i = 0;
    for (; i + 2 <= m; i += 2) {
      const x0 = xq + <usize>i * <usize>kp;
      const x1 = x0 + <usize>kp;
      let c00 = z,
        c01 = z,
        c02 = z,
        c03 = z,
        c10 = z,
        c11 = z,
        c12 = z,
        c13 = z;
      for (let p: usize = 0; p < <usize>k16; p += 16) {
        const a0 = v128.load(x0 + p);
        const a1 = v128.load(x1 + p);
        let b = v128.load(w0 + p);
        c00 = rdot<D>(b, a0, c00, ones);
        c10 = rdot<D>(b, a1, c10, ones);
        b = v128.load(w1 + p);
        c01 = rdot<D>(b, a0, c01, ones);
        c11 = rdot<D>(b, a1, c11, ones);
        b = v128.load(w2 + p);
        c02 = rdot<D>(b, a0, c02, ones);
        c12 = rdot<D>(b, a1, c12, ones);
        b = v128.load(w3 + p);
        c03 = rdot<D>(b, a0, c03, ones);
        c13 = rdot<D>(b, a1, c13, ones);
      }
      let r0 = i32x4.sub(hsum4_i32(c00, c01, c02, c03), corr);
      let r1 = i32x4.sub(hsum4_i32(c10, c11, c12, c13), corr);
      if (k16 < k) {
        r0 = i32x4.add(r0, tail4(x0, w0, w1, w2, w3, k16, k));
        r1 = i32x4.add(r1, tail4(x1, w0, w1, w2, w3, k16, k));
      }
      const yi = yj + ((<usize>i * <usize>n) << 2);
      outRow(yi, r0, load<f32>(xs + ((<usize>i) << 2)), wsv, bias, bv, nv);
      outRow(yi + ((<usize>n) << 2), r1, load<f32>(xs + ((<usize>i + 1) << 2)), wsv, bias, bv, nv);
    }
    if (i < m) {
      const x0 = xq + <usize>i * <usize>kp;
      const r0 = q8_row1x4_relaxed<D>(x0, w0, w1, w2, w3, corr, k16, k);
      outRow(yj + ((<usize>i * <usize>n) << 2), r0, load<f32>(xs + ((<usize>i) << 2)), wsv, bias, bv, nv);
    }
  }
}

/** Relaxed-SIMD 2x4c16 microkernel, the fused dot (see file header). Traps in the `simd` build. */
export function q8_f32_gemm_2x4__relaxed(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  wsum: usize,
  bias: usize,
  y: usize,
  m: i32,
  n: i32,
  k: i32,
): void {
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else gemm_2x4_relaxed<FusedDot>(xq, xs, w, ws, wsum, bias, y, m, n, k);
}

/** The same with the split dot (see file header), bit-identical. Traps in the `simd` build. */
export function q8_f32_gemm_2x4__relaxed_split(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  wsum: usize,
  bias: usize,
  y: usize,
  m: i32,
  n: i32,
  k: i32,
): void {
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else gemm_2x4_relaxed<SplitDot>(xq, xs, w, ws, wsum, bias, y, m, n, k);
}

/** Plain-SIMD 2x4c16 microkernel: sign-extend to i16 and i32x4.dot_i16x8_s (see file header). */
export function q8_f32_gemm_2x4__simd(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  wsum: usize,
  bias: usize,
  y: usize,
  m: i32,
  n: i32,
  k: i32,
): void {
  const kp = actStride(k);
  const k16 = k & ~15;
  const z = i32x4.splat(0);
  const zp = i8x16.splat(<i8>ACT_ZERO);
  for (let j = 0; j < n; j += 4) {
    const nv = min(4, n - j);
    const w0 = rowPtr(w, j, 0, n, k);
    const w1 = rowPtr(w, j, 1, n, k);
    const w2 = rowPtr(w, j, 2, n, k);
    const w3 = rowPtr(w, j, 3, n, k);
    const wsv = load4(ws, j, nv);
    const bv = bias ? load4(bias, j, nv) : z;
    const yj = y + ((<usize>j) << 2);
    let i = 0;
    for (; i + 2 <= m; i += 2) {
      const x0 = xq + <usize>i * <usize>kp;
      const x1 = x0 + <usize>kp;
      let c00 = z,
        c01 = z,
        c02 = z,
        c03 = z,
        c10 = z,
        c11 = z,
        c12 = z,
        c13 = z;
      for (let p: usize = 0; p < <usize>k16; p += 16) {
        const a0 = i8x16.sub(v128.load(x0 + p), zp);
        const a1 = i8x16.sub(v128.load(x1 + p), zp);
        const a0l = i16x8.extend_low_i8x16_s(a0);
        const a0h = i16x8.extend_high_i8x16_s(a0);
        const a1l = i16x8.extend_low_i8x16_s(a1);
        const a1h = i16x8.extend_high_i8x16_s(a1);
        let b = v128.load(w0 + p);
        let bl = i16x8.extend_low_i8x16_s(b);
        let bh = i16x8.extend_high_i8x16_s(b);
        c00 = i32x4.add(c00, i32x4.add(i32x4.dot_i16x8_s(bl, a0l), i32x4.dot_i16x8_s(bh, a0h)));
        c10 = i32x4.add(c10, i32x4.add(i32x4.dot_i16x8_s(bl, a1l), i32x4.dot_i16x8_s(bh, a1h)));
        b = v128.load(w1 + p);
        bl = i16x8.extend_low_i8x16_s(b);
        bh = i16x8.extend_high_i8x16_s(b);
        c01 = i32x4.add(c01, i32x4.add(i32x4.dot_i16x8_s(bl, a0l), i32x4.dot_i16x8_s(bh, a0h)));
        c11 = i32x4.add(c11, i32x4.add(i32x4.dot_i16x8_s(bl, a1l), i32x4.dot_i16x8_s(bh, a1h)));
        b = v128.load(w2 + p);
        bl = i16x8.extend_low_i8x16_s(b);
        bh = i16x8.extend_high_i8x16_s(b);
        c02 = i32x4.add(c02, i32x4.add(i32x4.dot_i16x8_s(bl, a0l), i32x4.dot_i16x8_s(bh, a0h)));
        c12 = i32x4.add(c12, i32x4.add(i32x4.dot_i16x8_s(bl, a1l), i32x4.dot_i16x8_s(bh, a1h)));
        b = v128.load(w3 + p);
        bl = i16x8.extend_low_i8x16_s(b);
        bh = i16x8.extend_high_i8x16_s(b);
        c03 = i32x4.add(c03, i32x4.add(i32x4.dot_i16x8_s(bl, a0l), i32x4.dot_i16x8_s(bh, a0h)));
        c13 = i32x4.add(c13, i32x4.add(i32x4.dot_i16x8_s(bl, a1l), i32x4.dot_i16x8_s(bh, a1h)));
      }
      let r0 = hsum4_i32(c00, c01, c02, c03);
      let r1 = hsum4_i32(c10, c11, c12, c13);
      if (k16 < k) {
        r0 = i32x4.add(r0, tail4z(x0, w0, w1, w2, w3, k16, k));
        r1 = i32x4.add(r1, tail4z(x1, w0, w1, w2, w3, k16, k));
      }
      const yi = yj + ((<usize>i * <usize>n) << 2);
      outRow(yi, r0, load<f32>(xs + ((<usize>i) << 2)), wsv, bias, bv, nv);
      outRow(yi + ((<usize>n) << 2), r1, load<f32>(xs + ((<usize>i + 1) << 2)), wsv, bias, bv, nv);
    }
    if (i < m) {
      const x0 = xq + <usize>i * <usize>kp;
      const r0 = q8_row1x4_simd(x0, w0, w1, w2, w3, k16, k);
      outRow(yj + ((<usize>i * <usize>n) << 2), r0, load<f32>(xs + ((<usize>i) << 2)), wsv, bias, bv, nv);
    }
  }
}
