// The one-row bodies the q4 GEMV and the q4 GEMM share: per-block activation sums for the relaxed form,
// the 4 channels' block scales, the f32 output stage and the 1x4 row dots (relaxed and plain SIMD).
// Operands as assembly/gemm/q4_gemm.ts. Requires SIMD128 (+ relaxed SIMD for __relaxed).
import { ACT_ZERO } from "../quant/act";
import { hsum4_i32, load4, rowPtr, store4 } from "./common";

/** asum[r, b] = sum over block b of (xq[r, k] - 64), for the relaxed form's nibble offset. */
export function q4_act_block_sums(xq: usize, asum: usize, m: i32, kb: i32): void {
  const kp = kb << 5;
  for (let r = 0; r < m; r++) {
    const x = xq + <usize>r * <usize>kp;
    for (let b = 0; b < kb; b++) {
      const p = x + ((<usize>b) << 5);
      const h = i16x8.add(
        i16x8.extadd_pairwise_i8x16_u(v128.load(p)),
        i16x8.extadd_pairwise_i8x16_u(v128.load(p, 16)),
      );
      const s = i32x4.extadd_pairwise_i16x8_u(h);
      const t =
        i32x4.extract_lane(s, 0) +
        i32x4.extract_lane(s, 1) +
        i32x4.extract_lane(s, 2) +
        i32x4.extract_lane(s, 3);
      store<i32>(asum + ((<usize>(r * kb + b)) << 2), t - 32 * ACT_ZERO);
    }
  }
}

/** Scales s_w[n0..n0+3, b] of a column tile (pointers already clamped), one lane per channel. */
export function q4_scales(s0: usize, s1: usize, s2: usize, s3: usize, b: i32): v128 {
  const o = (<usize>b) << 2;
  let v = v128.load32_zero(s0 + o);
  v = v128.load32_lane(s1 + o, v, 1);
  v = v128.load32_lane(s2 + o, v, 2);
  return v128.load32_lane(s3 + o, v, 3);
}

/** Output stage: y = acc * s_x (+ bias), first nv lanes. The scalar reference does the same. */
export function q4_out(yrow: usize, acc: v128, sx: f32, bias: usize, j: i32, nv: i32): void {
  let v = f32x4.mul(acc, f32x4.splat(sx));
  if (bias) v = f32x4.add(v, load4(bias, j, nv));
  store4(yrow, v, nv);
}

/**
 * One activation row x channels j..j+3, relaxed form: per block, the relaxed dot of (x - 64) with the
 * nibbles for both halves (the activations are the signed operand, the nibbles 0..15 the 7-bit one),
 * reduced, then minus 8 * asum[b] turns sum (x - 64) * nibble into sum (x - 64) * (nibble - 8).
 */
export function q4_row1x4_relaxed(x: usize, asum: usize, w: usize, ws: usize, j: i32, n: i32, kb: i32): v128 {
  const rs = kb << 4;
  const w0 = rowPtr(w, j, 0, n, rs);
  const w1 = rowPtr(w, j, 1, n, rs);
  const w2 = rowPtr(w, j, 2, n, rs);
  const w3 = rowPtr(w, j, 3, n, rs);
  const s0 = rowPtr(ws, j, 0, n, kb << 2);
  const s1 = rowPtr(ws, j, 1, n, kb << 2);
  const s2 = rowPtr(ws, j, 2, n, kb << 2);
  const s3 = rowPtr(ws, j, 3, n, kb << 2);
  const zp = i8x16.splat(<i8>ACT_ZERO);
  const lo4 = i8x16.splat(0x0f);
  const ones = i16x8.splat(1);
  let acc = f32x4.splat(0);
  for (let b = 0; b < kb; b++) {
    const xb = x + ((<usize>b) << 5);
    const al = i8x16.sub(v128.load(xb), zp);
    const ah = i8x16.sub(v128.load(xb, 16), zp);
    const o = (<usize>b) << 4;
    const c0 = q4_rdot(v128.load(w0 + o), al, ah, lo4, ones);
    const c1 = q4_rdot(v128.load(w1 + o), al, ah, lo4, ones);
    const c2 = q4_rdot(v128.load(w2 + o), al, ah, lo4, ones);
    const c3 = q4_rdot(v128.load(w3 + o), al, ah, lo4, ones);
    const d = i32x4.sub(hsum4_i32(c0, c1, c2, c3), i32x4.shl(v128.load32_splat(asum + ((<usize>b) << 2)), 3));
    acc = f32x4.add(acc, f32x4.mul(q4_scales(s0, s1, s2, s3, b), f32x4.convert_i32x4_s(d)));
  }
  return acc;
}

/**
 * i32x4 partial sums of (x - 64) * nibble over one block: al/ah the two signed activation halves,
 * the nibbles the 7-bit operand of the fused relaxed dot (see rdot in q8_rows.ts for why fused).
 */
export function q4_rdot(wb: v128, al: v128, ah: v128, lo4: v128, _ones: v128): v128 {
  const lo = v128.and(wb, lo4);
  const hi = i8x16.shr_u(wb, 4);
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(
    ah,
    hi,
    i32x4.relaxed_dot_i8x16_i7x16_add_s(al, lo, i32x4.splat(0)),
  );
}

/** One activation row x channels j..j+3, plain SIMD: (nibble - 8) * (x - 64) in i16, dot_i16x8_s. */
export function q4_row1x4_simd(x: usize, w: usize, ws: usize, j: i32, n: i32, kb: i32): v128 {
  const rs = kb << 4;
  const w0 = rowPtr(w, j, 0, n, rs);
  const w1 = rowPtr(w, j, 1, n, rs);
  const w2 = rowPtr(w, j, 2, n, rs);
  const w3 = rowPtr(w, j, 3, n, rs);
  const s0 = rowPtr(ws, j, 0, n, kb << 2);
  const s1 = rowPtr(ws, j, 1, n, kb << 2);
  const s2 = rowPtr(ws, j, 2, n, kb << 2);
  const s3 = rowPtr(ws, j, 3, n, kb << 2);
  const zp = i8x16.splat(<i8>ACT_ZERO);
  let acc = f32x4.splat(0);
  for (let b = 0; b < kb; b++) {
    const xb = x + ((<usize>b) << 5);
    const a = i8x16.sub(v128.load(xb), zp);
    const a2 = i8x16.sub(v128.load(xb, 16), zp);
    const x0 = i16x8.extend_low_i8x16_s(a);
    const x1 = i16x8.extend_high_i8x16_s(a);
    const x2 = i16x8.extend_low_i8x16_s(a2);
    const x3 = i16x8.extend_high_i8x16_s(a2);
    const o = (<usize>b) << 4;
    const c0 = q4_dot16(v128.load(w0 + o), x0, x1, x2, x3);
    const c1 = q4_dot16(v128.load(w1 + o), x0, x1, x2, x3);
    const c2 = q4_dot16(v128.load(w2 + o), x0, x1, x2, x3);
    const c3 = q4_dot16(v128.load(w3 + o), x0, x1, x2, x3);
    const d = hsum4_i32(c0, c1, c2, c3);
    acc = f32x4.add(acc, f32x4.mul(q4_scales(s0, s1, s2, s3, b), f32x4.convert_i32x4_s(d)));
  }
  return acc;
}

/** i32x4 partial sums of (nibble - 8) * (x - 64) over one block, activations extended to i16. */
function q4_dot16(wb: v128, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const eight = i8x16.splat(8);
  const lo = i8x16.sub(v128.and(wb, i8x16.splat(0x0f)), eight);
  const hi = i8x16.sub(i8x16.shr_u(wb, 4), eight);
  const a = i32x4.add(
    i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(lo), x0),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(lo), x1),
  );
  const b = i32x4.add(
    i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(hi), x2),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(hi), x3),
  );
  return i32x4.add(a, b);
}
