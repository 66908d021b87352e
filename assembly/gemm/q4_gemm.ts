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
// the registers, and the horizontal reduction, scale and f32 accumulate run once per 128 elements.
//  - __relaxed (2x4): the nibbles (0..15) are the 7-bit operand of i32x4.relaxed_dot_i8x16_i7x16_add_s
//    and xq - 64 the signed one; sum (x - 64) * nibble - 8 * asum[m, g] gives dot exactly.
//  - __simd (1x4 rows, see q4_rows.ts): nibble - 8 and xq - 64 sign-extended to i16, dot_i16x8_s.
import { actStride, ACT_ZERO } from "../quant/act";
import { hsum4_i32, rowPtr } from "./common";
import {
  q4_act_group_sums,
  q4_groups,
  q4_out,
  q4_rdot,
  q4_row1x4_relaxed,
  q4_row1x4_simd,
  q4_scales,
  Q4_GROUP_BLOCKS,
} from "./q4_rows";

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

/** Relaxed-SIMD 2x4 microkernel (see file header); scratch: i32 [M, KG]. Traps in the `simd` build. */
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
    const rs = kb << 4;
    q4_act_group_sums(xq, scratch, m, kb);
    const zp = i8x16.splat(<i8>ACT_ZERO);
    const lo4 = i8x16.splat(0x0f);
    const z = i32x4.splat(0);
    for (let j = 0; j < n; j += 4) {
      const nv = min(4, n - j);
      const w0 = rowPtr(w, j, 0, n, rs);
      const w1 = rowPtr(w, j, 1, n, rs);
      const w2 = rowPtr(w, j, 2, n, rs);
      const w3 = rowPtr(w, j, 3, n, rs);
      const s0 = rowPtr(ws, j, 0, n, kg << 2);
      const s1 = rowPtr(ws, j, 1, n, kg << 2);
      const s2 = rowPtr(ws, j, 2, n, kg << 2);
      const s3 = rowPtr(ws, j, 3, n, kg << 2);
      const yj = y + ((<usize>j) << 2);
      let i = 0;
      for (; i + 2 <= m; i += 2) {
        const x0 = xq + <usize>i * <usize>kp;
        const x1 = x0 + <usize>kp;
        const as0 = scratch + ((<usize>i * <usize>kg) << 2);
        const as1 = as0 + ((<usize>kg) << 2);
        let f0 = f32x4.splat(0);
        let f1 = f0;
        for (let g = 0; g < kg; g++) {
          const b1 = min(kb, (g + 1) * Q4_GROUP_BLOCKS);
          let c00 = z,
            c01 = z,
            c02 = z,
            c03 = z,
            c10 = z,
            c11 = z,
            c12 = z,
            c13 = z;
          for (let b = g * Q4_GROUP_BLOCKS; b < b1; b++) {
            const xo = (<usize>b) << 5;
            const a0l = i8x16.sub(v128.load(x0 + xo), zp);
            const a0h = i8x16.sub(v128.load(x0 + xo, 16), zp);
            const a1l = i8x16.sub(v128.load(x1 + xo), zp);
            const a1h = i8x16.sub(v128.load(x1 + xo, 16), zp);
            const o = (<usize>b) << 4;
            let wb = v128.load(w0 + o);
            let lo = v128.and(wb, lo4);
            let hi = i8x16.shr_u(wb, 4);
            c00 = q4_rdot(a0h, hi, q4_rdot(a0l, lo, c00));
            c10 = q4_rdot(a1h, hi, q4_rdot(a1l, lo, c10));
            wb = v128.load(w1 + o);
            lo = v128.and(wb, lo4);
            hi = i8x16.shr_u(wb, 4);
            c01 = q4_rdot(a0h, hi, q4_rdot(a0l, lo, c01));
            c11 = q4_rdot(a1h, hi, q4_rdot(a1l, lo, c11));
            wb = v128.load(w2 + o);
            lo = v128.and(wb, lo4);
            hi = i8x16.shr_u(wb, 4);
            c02 = q4_rdot(a0h, hi, q4_rdot(a0l, lo, c02));
            c12 = q4_rdot(a1h, hi, q4_rdot(a1l, lo, c12));
            wb = v128.load(w3 + o);
            lo = v128.and(wb, lo4);
            hi = i8x16.shr_u(wb, 4);
            c03 = q4_rdot(a0h, hi, q4_rdot(a0l, lo, c03));
            c13 = q4_rdot(a1h, hi, q4_rdot(a1l, lo, c13));
          }
          const ao = (<usize>g) << 2;
          const d0 = i32x4.sub(hsum4_i32(c00, c01, c02, c03), i32x4.shl(v128.load32_splat(as0 + ao), 3));
          const d1 = i32x4.sub(hsum4_i32(c10, c11, c12, c13), i32x4.shl(v128.load32_splat(as1 + ao), 3));
          const sv = q4_scales(s0, s1, s2, s3, g);
          f0 = f32x4.add(f0, f32x4.mul(sv, f32x4.convert_i32x4_s(d0)));
          f1 = f32x4.add(f1, f32x4.mul(sv, f32x4.convert_i32x4_s(d1)));
        }
        const yi = yj + ((<usize>i * <usize>n) << 2);
        q4_out(yi, f0, load<f32>(xs + ((<usize>i) << 2)), bias, j, nv);
        q4_out(yi + ((<usize>n) << 2), f1, load<f32>(xs + ((<usize>i + 1) << 2)), bias, j, nv);
      }
      if (i < m) {
        const x0 = xq + <usize>i * <usize>kp;
        const acc = q4_row1x4_relaxed(x0, scratch + ((<usize>i * <usize>kg) << 2), w, ws, j, n, kb);
        q4_out(yj + ((<usize>i * <usize>n) << 2), acc, load<f32>(xs + ((<usize>i) << 2)), bias, j, nv);
      }
    }
  }
}

/** Plain-SIMD GEMM as rows of the 1x4 microkernel (see q4_rows.ts); scratch is not used. */
export function q4_f32_gemm_1x4__simd(
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
  for (let j = 0; j < n; j += 4) {
    const nv = min(4, n - j);
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
  }
}
