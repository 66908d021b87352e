// The q4 GEMM's weight tile: the 4 output channels a column tile computes, unpacked once into signed
// codes q = nibble - 8 (one byte each, K order) in a static buffer of the kernel module, with their group
// scales and code sums laid out 4 channels per vector ([group][channel]). The GEMM's inner loop then
// runs over every activation row exactly like the q8 kernel (one dot per 16 K-bytes per row and channel),
// and the unpacking is paid once per tile instead of once per row pair.
// Exact: dot[m, n, g] = sum q * xq - 64 * sum q = sum (nibble - 8) * (xq - 64) over group g.
// Operands as assembly/gemm/q4_gemm.ts. Requires SIMD128 (+ relaxed SIMD for the relaxed inner loop).
import { ACT_ZERO } from "../quant/act";
import { hsum4_i32, rowPtr } from "./common";
import { FusedDot, K_ONES16, rdot } from "./q8_rows";
import { q4_hi, q4_out, Q4_GROUP_BLOCKS } from "./q4_rows";

/** Largest K (in 32-blocks) a tile holds; a longer row takes the row-by-row path. */
export const Q4_TILE_MAX_KB: i32 = 512;
const MAX_KG: i32 = Q4_TILE_MAX_KB / Q4_GROUP_BLOCKS;
/** codes i8 [4][KP] | scales f32 [KG][4] | code sums i32 [KG][4] */
const TILE: usize = memory.data(4 * Q4_TILE_MAX_KB * 32 + 2 * 16 * MAX_KG, 16);
const TILE_SCALES: usize = TILE + <usize>(4 * Q4_TILE_MAX_KB * 32);
const TILE_SUMS: usize = TILE_SCALES + <usize>(16 * MAX_KG);

/** Code row of channel t of the tile. */
export function q4_tile_codes(t: i32, kp: i32): usize {
  return TILE + <usize>(t * kp);
}

/** Unpacks channels j..j+3 (clamped to the last one) of w u8 [N, KB * 16], ws f32 [N, KG] into the tile. */
export function q4_tile_unpack(w: usize, ws: usize, j: i32, n: i32, kb: i32, kg: i32): void {
  const kp = kb << 5;
  const lo4 = i8x16.splat(0x0f);
  const eight = i8x16.splat(8);
  for (let t = 0; t < 4; t++) {
    const src = rowPtr(w, j, t, n, kb << 4);
    const dst = q4_tile_codes(t, kp);
    const sc = rowPtr(ws, j, t, n, kg << 2);
    for (let g = 0; g < kg; g++) {
      let s = i32x4.splat(0);
      for (let b = g * Q4_GROUP_BLOCKS; b < min(kb, (g + 1) * Q4_GROUP_BLOCKS); b++) {
        const wb = v128.load(src + ((<usize>b) << 4));
        const lo = i8x16.sub(v128.and(wb, lo4), eight);
        const hi = i8x16.sub(q4_hi(wb, lo4), eight);
        v128.store(dst + ((<usize>b) << 5), lo);
        v128.store(dst + ((<usize>b) << 5), hi, 16);
        s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(lo)));
        s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(hi)));
      }
      const o = (<usize>(g * 4 + t)) << 2;
      store<i32>(
        TILE_SUMS + o,
        i32x4.extract_lane(s, 0) +
          i32x4.extract_lane(s, 1) +
          i32x4.extract_lane(s, 2) +
          i32x4.extract_lane(s, 3),
      );
      store<f32>(TILE_SCALES + o, load<f32>(sc + ((<usize>g) << 2)));
    }
  }
}

/** The tile's scales of group g, one lane per channel. */
export function q4_tile_scales(g: i32): v128 {
  return v128.load(TILE_SCALES + ((<usize>g) << 4));
}

/** 64 * the tile's code sums of group g, one lane per channel (the relaxed form's zero-point term). */
export function q4_tile_corr(g: i32): v128 {
  return i32x4.shl(v128.load(TILE_SUMS + ((<usize>g) << 4)), 6);
}

/**
 * Rows i0..i0+1 (two = true) or row i0 alone of xq against the tile, relaxed dot (codes signed, xq the
 * 7-bit operand), written to y through the q4 output stage.
 */
export function q4_tile_rows_relaxed(
  xq: usize,
  xs: usize,
  bias: usize,
  y: usize,
  i0: i32,
  two: bool,
  j: i32,
  n: i32,
  kb: i32,
  kg: i32,
): void {
  const kp = kb << 5;
  const t0 = q4_tile_codes(0, kp);
  const t1 = q4_tile_codes(1, kp);
  const t2 = q4_tile_codes(2, kp);
  const t3 = q4_tile_codes(3, kp);
  const x0 = xq + <usize>i0 * <usize>kp;
  const x1 = two ? x0 + <usize>kp : x0;
  const z = i32x4.splat(0);
  const ones = v128.load(K_ONES16);
  let f0 = f32x4.splat(0);
  let f1 = f0;
  for (let g = 0; g < kg; g++) {
    let c00 = z,
      c01 = z,
      c02 = z,
      c03 = z,
      c10 = z,
      c11 = z,
      c12 = z,
      c13 = z;
    const end = (<usize>min(kb, (g + 1) * Q4_GROUP_BLOCKS)) << 5;
    for (let p = (<usize>(g * Q4_GROUP_BLOCKS)) << 5; p < end; p += 16) {
      const a0 = v128.load(x0 + p);
      const a1 = v128.load(x1 + p);
      let b = v128.load(t0 + p);
      c00 = rdot<FusedDot>(b, a0, c00, ones);
      c10 = rdot<FusedDot>(b, a1, c10, ones);
      b = v128.load(t1 + p);
      c01 = rdot<FusedDot>(b, a0, c01, ones);
      c11 = rdot<FusedDot>(b, a1, c11, ones);
      b = v128.load(t2 + p);
      c02 = rdot<FusedDot>(b, a0, c02, ones);
      c12 = rdot<FusedDot>(b, a1, c12, ones);
      b = v128.load(t3 + p);
      c03 = rdot<FusedDot>(b, a0, c03, ones);
      c13 = rdot<FusedDot>(b, a1, c13, ones);
    }
    const corr = q4_tile_corr(g);
    const sv = q4_tile_scales(g);
    f0 = f32x4.add(f0, f32x4.mul(sv, f32x4.convert_i32x4_s(i32x4.sub(hsum4_i32(c00, c01, c02, c03), corr))));
    f1 = f32x4.add(f1, f32x4.mul(sv, f32x4.convert_i32x4_s(i32x4.sub(hsum4_i32(c10, c11, c12, c13), corr))));
  }
  const nv = min(4, n - j);
  const yi = y + ((<usize>i0 * <usize>n + <usize>j) << 2);
  q4_out(yi, f0, load<f32>(xs + ((<usize>i0) << 2)), bias, j, nv);
  if (two) q4_out(yi + ((<usize>n) << 2), f1, load<f32>(xs + ((<usize>i0 + 1) << 2)), bias, j, nv);
}

/** The same rows against the tile, plain SIMD: xq - 64 and the codes extended to i16, dot_i16x8_s. */
export function q4_tile_rows_simd(
  xq: usize,
  xs: usize,
  bias: usize,
  y: usize,
  i0: i32,
  two: bool,
  j: i32,
  n: i32,
  kb: i32,
  kg: i32,
): void {
  const kp = kb << 5;
  const t0 = q4_tile_codes(0, kp);
  const t1 = q4_tile_codes(1, kp);
  const t2 = q4_tile_codes(2, kp);
  const t3 = q4_tile_codes(3, kp);
  const x0 = xq + <usize>i0 * <usize>kp;
  const x1 = two ? x0 + <usize>kp : x0;
  const z = i32x4.splat(0);
  const zp = i8x16.splat(<i8>ACT_ZERO);
  let f0 = f32x4.splat(0);
  let f1 = f0;
  for (let g = 0; g < kg; g++) {
    let c00 = z,
      c01 = z,
      c02 = z,
      c03 = z,
      c10 = z,
      c11 = z,
      c12 = z,
      c13 = z;
    const end = (<usize>min(kb, (g + 1) * Q4_GROUP_BLOCKS)) << 5;
    for (let p = (<usize>(g * Q4_GROUP_BLOCKS)) << 5; p < end; p += 16) {
      const a0 = i8x16.sub(v128.load(x0 + p), zp);
      const a1 = i8x16.sub(v128.load(x1 + p), zp);
      const a0l = i16x8.extend_low_i8x16_s(a0);
      const a0h = i16x8.extend_high_i8x16_s(a0);
      const a1l = i16x8.extend_low_i8x16_s(a1);
      const a1h = i16x8.extend_high_i8x16_s(a1);
      let b = v128.load(t0 + p);
      let bl = i16x8.extend_low_i8x16_s(b);
      let bh = i16x8.extend_high_i8x16_s(b);
      c00 = i32x4.add(c00, i32x4.add(i32x4.dot_i16x8_s(bl, a0l), i32x4.dot_i16x8_s(bh, a0h)));
      c10 = i32x4.add(c10, i32x4.add(i32x4.dot_i16x8_s(bl, a1l), i32x4.dot_i16x8_s(bh, a1h)));
      b = v128.load(t1 + p);
      bl = i16x8.extend_low_i8x16_s(b);
      bh = i16x8.extend_high_i8x16_s(b);
      c01 = i32x4.add(c01, i32x4.add(i32x4.dot_i16x8_s(bl, a0l), i32x4.dot_i16x8_s(bh, a0h)));
      c11 = i32x4.add(c11, i32x4.add(i32x4.dot_i16x8_s(bl, a1l), i32x4.dot_i16x8_s(bh, a1h)));
      b = v128.load(t2 + p);
      bl = i16x8.extend_low_i8x16_s(b);
      bh = i16x8.extend_high_i8x16_s(b);
      c02 = i32x4.add(c02, i32x4.add(i32x4.dot_i16x8_s(bl, a0l), i32x4.dot_i16x8_s(bh, a0h)));
      c12 = i32x4.add(c12, i32x4.add(i32x4.dot_i16x8_s(bl, a1l), i32x4.dot_i16x8_s(bh, a1h)));
      b = v128.load(t3 + p);
      bl = i16x8.extend_low_i8x16_s(b);
      bh = i16x8.extend_high_i8x16_s(b);
      c03 = i32x4.add(c03, i32x4.add(i32x4.dot_i16x8_s(bl, a0l), i32x4.dot_i16x8_s(bh, a0h)));
      c13 = i32x4.add(c13, i32x4.add(i32x4.dot_i16x8_s(bl, a1l), i32x4.dot_i16x8_s(bh, a1h)));
    }
    const sv = q4_tile_scales(g);
    f0 = f32x4.add(f0, f32x4.mul(sv, f32x4.convert_i32x4_s(hsum4_i32(c00, c01, c02, c03))));
    f1 = f32x4.add(f1, f32x4.mul(sv, f32x4.convert_i32x4_s(hsum4_i32(c10, c11, c12, c13))));
  }
  const nv = min(4, n - j);
  const yi = y + ((<usize>i0 * <usize>n + <usize>j) << 2);
  q4_out(yi, f0, load<f32>(xs + ((<usize>i0) << 2)), bias, j, nv);
  if (two) q4_out(yi + ((<usize>n) << 2), f1, load<f32>(xs + ((<usize>i0 + 1) << 2)), bias, j, nv);
}
