// The pieces the q4 GEMV and the q4 GEMM share: per-group activation sums for the relaxed form, the 4
// channels' group scales, the f32 output stage and the 1x4 row dots (relaxed and plain SIMD); and the
// GEMV's 1x8 main tile (one row x 8 channels through the output stage).
// Operands as assembly/gemm/q4_gemm.ts. Requires SIMD128 (+ relaxed SIMD for __relaxed).
import { ACT_ZERO } from "../quant/act";
import { hsum4_i32, load4, rowPtr, store4 } from "./common";

/** Blocks of 32 per scale group (wasm/quant.ts Q4_GROUP / Q4_BLOCK). */
export const Q4_GROUP_BLOCKS: i32 = 4;

/** Scale groups of a row of kb blocks. */
export function q4_groups(kb: i32): i32 {
  return (kb + Q4_GROUP_BLOCKS - 1) / Q4_GROUP_BLOCKS;
}

/** asum[r, g] = sum over group g of (xq[r, k] - 64), for the relaxed form's nibble offset. */
export function q4_act_group_sums(xq: usize, asum: usize, m: i32, kb: i32): void {
  const kp = kb << 5;
  const kg = q4_groups(kb);
  for (let r = 0; r < m; r++) {
    const x = xq + <usize>r * <usize>kp;
    for (let g = 0; g < kg; g++) {
      const b1 = min(kb, (g + 1) * Q4_GROUP_BLOCKS);
      let s = i32x4.splat(0);
      for (let b = g * Q4_GROUP_BLOCKS; b < b1; b++) {
        const p = x + ((<usize>b) << 5);
        const h = i16x8.add(
          i16x8.extadd_pairwise_i8x16_u(v128.load(p)),
          i16x8.extadd_pairwise_i8x16_u(v128.load(p, 16)),
        );
        s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_u(h));
      }
      const t =
        i32x4.extract_lane(s, 0) +
        i32x4.extract_lane(s, 1) +
        i32x4.extract_lane(s, 2) +
        i32x4.extract_lane(s, 3);
      store<i32>(asum + ((<usize>(r * kg + g)) << 2), t - 32 * (b1 - g * Q4_GROUP_BLOCKS) * ACT_ZERO);
    }
  }
}

/** Scales s_w[n0..n0+3, g] of a column tile (pointers already clamped), one lane per channel. */
export function q4_scales(s0: usize, s1: usize, s2: usize, s3: usize, g: i32): v128 {
  const o = (<usize>g) << 2;
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
 * The high nibbles of a block, 0..15 per byte: a 16-bit shift and the low-nibble mask, which drops what the
 * shift brought in from the neighbouring byte. Same bytes as i8x16.shr_u(wb, 4), which V8 lowers on x64 to
 * the same shift and an AND with a mask it rebuilds on every call (docs/platform.md).
 */
export function q4_hi(wb: v128, lo4: v128): v128 {
  return v128.and(i16x8.shr_u(wb, 4), lo4);
}

/** The relaxed dot with the nibbles as its 7-bit operand (fused only; rdot in q8_rows.ts compares the two forms). */
export function q4_rdot(a: v128, nib: v128, acc: v128): v128 {
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(a, nib, acc);
}

/**
 * One activation row x channels j..j+3, relaxed form: per block the relaxed dots of (x - 64) with the
 * low and high nibbles (the activations are the signed operand, the nibbles 0..15 the 7-bit one),
 * accumulated over the group, reduced, then minus 8 * asum[g] turns sum (x - 64) * nibble into
 * sum (x - 64) * (nibble - 8); acc += s_w * f32(dot) once per group.
 */
export function q4_row1x4_relaxed(x: usize, asum: usize, w: usize, ws: usize, j: i32, n: i32, kb: i32): v128 {
  const rs = kb << 4;
  const kg = q4_groups(kb);
  const w0 = rowPtr(w, j, 0, n, rs);
  const w1 = rowPtr(w, j, 1, n, rs);
  const w2 = rowPtr(w, j, 2, n, rs);
  const w3 = rowPtr(w, j, 3, n, rs);
  const s0 = rowPtr(ws, j, 0, n, kg << 2);
  const s1 = rowPtr(ws, j, 1, n, kg << 2);
  const s2 = rowPtr(ws, j, 2, n, kg << 2);
  const s3 = rowPtr(ws, j, 3, n, kg << 2);
  const zp = i8x16.splat(<i8>ACT_ZERO);
  const lo4 = i8x16.splat(0x0f);
  const z = i32x4.splat(0);
  let acc = f32x4.splat(0);
  for (let g = 0; g < kg; g++) {
    const b1 = min(kb, (g + 1) * Q4_GROUP_BLOCKS);
    let c0 = z,
      c1 = z,
      c2 = z,
      c3 = z;
    for (let b = g * Q4_GROUP_BLOCKS; b < b1; b++) {
      const xb = x + ((<usize>b) << 5);
      const al = i8x16.sub(v128.load(xb), zp);
      const ah = i8x16.sub(v128.load(xb, 16), zp);
      const o = (<usize>b) << 4;
      let wb = v128.load(w0 + o);
      c0 = q4_rdot(ah, q4_hi(wb, lo4), q4_rdot(al, v128.and(wb, lo4), c0));
      wb = v128.load(w1 + o);
      c1 = q4_rdot(ah, q4_hi(wb, lo4), q4_rdot(al, v128.and(wb, lo4), c1));
      wb = v128.load(w2 + o);
      c2 = q4_rdot(ah, q4_hi(wb, lo4), q4_rdot(al, v128.and(wb, lo4), c2));
      wb = v128.load(w3 + o);
      c3 = q4_rdot(ah, q4_hi(wb, lo4), q4_rdot(al, v128.and(wb, lo4), c3));
    }
    const d = i32x4.sub(hsum4_i32(c0, c1, c2, c3), i32x4.shl(v128.load32_splat(asum + ((<usize>g) << 2)), 3));
    acc = f32x4.add(acc, f32x4.mul(q4_scales(s0, s1, s2, s3, g), f32x4.convert_i32x4_s(d)));
  }
  return acc;
}

/**
 * The same dots for channels j..j+7 (all eight valid): each block's activations are loaded and offset
 * once for eight channels instead of four, and the results go through the output stage (y = the row's
 * output, sx its activation scale). The GEMV's main tile; its last n % 8 channels take 1x4.
 */
export function q4_row1x8_relaxed(
  x: usize,
  asum: usize,
  w: usize,
  ws: usize,
  bias: usize,
  y: usize,
  sx: f32,
  j: i32,
  kb: i32,
): void {
  const rs = kb << 4;
  const kg = q4_groups(kb);
  const w0 = w + <usize>j * <usize>rs;
  const zp = i8x16.splat(<i8>ACT_ZERO);
  const lo4 = i8x16.splat(0x0f);
  const z = i32x4.splat(0);
  let acc0 = f32x4.splat(0);
  let acc1 = acc0;
  for (let g = 0; g < kg; g++) {
    const b1 = min(kb, (g + 1) * Q4_GROUP_BLOCKS);
    let c0 = z,
      c1 = z,
      c2 = z,
      c3 = z,
      c4 = z,
      c5 = z,
      c6 = z,
      c7 = z;
    for (let b = g * Q4_GROUP_BLOCKS; b < b1; b++) {
      const xb = x + ((<usize>b) << 5);
      const al = i8x16.sub(v128.load(xb), zp);
      const ah = i8x16.sub(v128.load(xb, 16), zp);
      const p = w0 + ((<usize>b) << 4);
      let wb = v128.load(p);
      c0 = q4_rdot(ah, q4_hi(wb, lo4), q4_rdot(al, v128.and(wb, lo4), c0));
      wb = v128.load(p + <usize>rs);
      c1 = q4_rdot(ah, q4_hi(wb, lo4), q4_rdot(al, v128.and(wb, lo4), c1));
      wb = v128.load(p + <usize>(2 * rs));
      c2 = q4_rdot(ah, q4_hi(wb, lo4), q4_rdot(al, v128.and(wb, lo4), c2));
      wb = v128.load(p + <usize>(3 * rs));
      c3 = q4_rdot(ah, q4_hi(wb, lo4), q4_rdot(al, v128.and(wb, lo4), c3));
      wb = v128.load(p + <usize>(4 * rs));
      c4 = q4_rdot(ah, q4_hi(wb, lo4), q4_rdot(al, v128.and(wb, lo4), c4));
      wb = v128.load(p + <usize>(5 * rs));
      c5 = q4_rdot(ah, q4_hi(wb, lo4), q4_rdot(al, v128.and(wb, lo4), c5));
      wb = v128.load(p + <usize>(6 * rs));
      c6 = q4_rdot(ah, q4_hi(wb, lo4), q4_rdot(al, v128.and(wb, lo4), c6));
      wb = v128.load(p + <usize>(7 * rs));
      c7 = q4_rdot(ah, q4_hi(wb, lo4), q4_rdot(al, v128.and(wb, lo4), c7));
    }
    const a8 = i32x4.shl(v128.load32_splat(asum + ((<usize>g) << 2)), 3);
    const s = ws + ((<usize>(j * kg + g)) << 2);
    const kg4 = <usize>(kg << 2);
    const sv0 = q4_scales(s, s + kg4, s + 2 * kg4, s + 3 * kg4, 0);
    const sv1 = q4_scales(s + 4 * kg4, s + 5 * kg4, s + 6 * kg4, s + 7 * kg4, 0);
    acc0 = f32x4.add(acc0, f32x4.mul(sv0, f32x4.convert_i32x4_s(i32x4.sub(hsum4_i32(c0, c1, c2, c3), a8))));
    acc1 = f32x4.add(acc1, f32x4.mul(sv1, f32x4.convert_i32x4_s(i32x4.sub(hsum4_i32(c4, c5, c6, c7), a8))));
  }
  q4_out(y + ((<usize>j) << 2), acc0, sx, bias, j, 4);
  q4_out(y + ((<usize>(j + 4)) << 2), acc1, sx, bias, j + 4, 4);
}

/** One activation row x channels j..j+3, plain SIMD: (nibble - 8) * (x - 64) in i16, dot_i16x8_s. */
export function q4_row1x4_simd(x: usize, w: usize, ws: usize, j: i32, n: i32, kb: i32): v128 {
  const rs = kb << 4;
  const kg = q4_groups(kb);
  const w0 = rowPtr(w, j, 0, n, rs);
  const w1 = rowPtr(w, j, 1, n, rs);
  const w2 = rowPtr(w, j, 2, n, rs);
  const w3 = rowPtr(w, j, 3, n, rs);
  const s0 = rowPtr(ws, j, 0, n, kg << 2);
  const s1 = rowPtr(ws, j, 1, n, kg << 2);
  const s2 = rowPtr(ws, j, 2, n, kg << 2);
  const s3 = rowPtr(ws, j, 3, n, kg << 2);
  const zp = i8x16.splat(<i8>ACT_ZERO);
  const z = i32x4.splat(0);
  let acc = f32x4.splat(0);
  for (let g = 0; g < kg; g++) {
    const b1 = min(kb, (g + 1) * Q4_GROUP_BLOCKS);
    let c0 = z,
      c1 = z,
      c2 = z,
      c3 = z;
    for (let b = g * Q4_GROUP_BLOCKS; b < b1; b++) {
      const xb = x + ((<usize>b) << 5);
      const a = i8x16.sub(v128.load(xb), zp);
      const a2 = i8x16.sub(v128.load(xb, 16), zp);
      const x0 = i16x8.extend_low_i8x16_s(a);
      const x1 = i16x8.extend_high_i8x16_s(a);
      const x2 = i16x8.extend_low_i8x16_s(a2);
      const x3 = i16x8.extend_high_i8x16_s(a2);
      const o = (<usize>b) << 4;
      c0 = i32x4.add(c0, q4_dot16(v128.load(w0 + o), x0, x1, x2, x3));
      c1 = i32x4.add(c1, q4_dot16(v128.load(w1 + o), x0, x1, x2, x3));
      c2 = i32x4.add(c2, q4_dot16(v128.load(w2 + o), x0, x1, x2, x3));
      c3 = i32x4.add(c3, q4_dot16(v128.load(w3 + o), x0, x1, x2, x3));
    }
    const d = hsum4_i32(c0, c1, c2, c3);
    acc = f32x4.add(acc, f32x4.mul(q4_scales(s0, s1, s2, s3, g), f32x4.convert_i32x4_s(d)));
  }
  return acc;
}

/** q4_row1x8_relaxed's plain-SIMD twin: (nibble - 8) * (x - 64) in i16, dot_i16x8_s; no asum. */
export function q4_row1x8_simd(
  x: usize,
  w: usize,
  ws: usize,
  bias: usize,
  y: usize,
  sx: f32,
  j: i32,
  kb: i32,
): void {
  const rs = kb << 4;
  const kg = q4_groups(kb);
  const w0 = w + <usize>j * <usize>rs;
  const zp = i8x16.splat(<i8>ACT_ZERO);
  const z = i32x4.splat(0);
  let acc0 = f32x4.splat(0);
  let acc1 = acc0;
  for (let g = 0; g < kg; g++) {
    const b1 = min(kb, (g + 1) * Q4_GROUP_BLOCKS);
    let c0 = z,
      c1 = z,
      c2 = z,
      c3 = z,
      c4 = z,
      c5 = z,
      c6 = z,
      c7 = z;
    for (let b = g * Q4_GROUP_BLOCKS; b < b1; b++) {
      const xb = x + ((<usize>b) << 5);
      const a = i8x16.sub(v128.load(xb), zp);
      const a2 = i8x16.sub(v128.load(xb, 16), zp);
      const x0 = i16x8.extend_low_i8x16_s(a);
      const x1 = i16x8.extend_high_i8x16_s(a);
      const x2 = i16x8.extend_low_i8x16_s(a2);
      const x3 = i16x8.extend_high_i8x16_s(a2);
      const p = w0 + ((<usize>b) << 4);
      c0 = i32x4.add(c0, q4_dot16(v128.load(p), x0, x1, x2, x3));
      c1 = i32x4.add(c1, q4_dot16(v128.load(p + <usize>rs), x0, x1, x2, x3));
      c2 = i32x4.add(c2, q4_dot16(v128.load(p + <usize>(2 * rs)), x0, x1, x2, x3));
      c3 = i32x4.add(c3, q4_dot16(v128.load(p + <usize>(3 * rs)), x0, x1, x2, x3));
      c4 = i32x4.add(c4, q4_dot16(v128.load(p + <usize>(4 * rs)), x0, x1, x2, x3));
      c5 = i32x4.add(c5, q4_dot16(v128.load(p + <usize>(5 * rs)), x0, x1, x2, x3));
      c6 = i32x4.add(c6, q4_dot16(v128.load(p + <usize>(6 * rs)), x0, x1, x2, x3));
      c7 = i32x4.add(c7, q4_dot16(v128.load(p + <usize>(7 * rs)), x0, x1, x2, x3));
    }
    const s = ws + ((<usize>(j * kg + g)) << 2);
    const kg4 = <usize>(kg << 2);
    const sv0 = q4_scales(s, s + kg4, s + 2 * kg4, s + 3 * kg4, 0);
    const sv1 = q4_scales(s + 4 * kg4, s + 5 * kg4, s + 6 * kg4, s + 7 * kg4, 0);
    acc0 = f32x4.add(acc0, f32x4.mul(sv0, f32x4.convert_i32x4_s(hsum4_i32(c0, c1, c2, c3))));
    acc1 = f32x4.add(acc1, f32x4.mul(sv1, f32x4.convert_i32x4_s(hsum4_i32(c4, c5, c6, c7))));
  }
  q4_out(y + ((<usize>j) << 2), acc0, sx, bias, j, 4);
  q4_out(y + ((<usize>(j + 4)) << 2), acc1, sx, bias, j + 4, 4);
}

/** i32x4 partial sums of (nibble - 8) * (x - 64) over one block, activations extended to i16. */
export function q4_dot16(wb: v128, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const eight = i8x16.splat(8);
  const lo4 = i8x16.splat(0x0f);
  const lo = i8x16.sub(v128.and(wb, lo4), eight);
  const hi = i8x16.sub(q4_hi(wb, lo4), eight);
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
