// Activation quantization per row (W8A8, the project's quantization contract):
//   s_x[m] = max_k |x[m,k]| / 63 (1 when the row is all zero)
//   xq[m,k] = clamp(nearest(x[m,k] / s_x[m]), -63, 63) + 64     as u8 in [1, 127] (7 bits, zero point 64)
// `nearest` is round half to even (f32.nearest). The 7-bit range keeps the second operand of
// i32x4.relaxed_dot_i8x16_i7x16_add_s deterministic on every CPU (docs/platform.md).
//
// Output layout: u8 [M, KP] with KP = (K + 31) & ~31 (the row stride every q8/q4 GEMM expects);
// columns K..KP-1 hold 64 (quantized 0.0), so q4's zero-padded 32-wide blocks read a neutral value.
// Requires: SIMD128 for the __simd variant. Both variants give bit-identical bytes and scales.
import { K_ROUND_BITS, K_ROUND_MAGIC } from "../ops/math";

/** Row stride in bytes of quantized activations for K inputs: K rounded up to a multiple of 32. */
export function actStride(k: i32): i32 {
  return (k + 31) & ~31;
}

/** Zero point of the 7-bit activations. */
export const ACT_ZERO: i32 = 64;

/**
 * Scalar reference. x: f32 [M, K] (row stride K); xq: u8 [M, KP]; xs: f32 [M] scales.
 */
export function q8_act_quantize__scalar(x: usize, xq: usize, xs: usize, m: i32, k: i32): void {
  const kp = actStride(k);
  for (let r = 0; r < m; r++) {
    const row = x + ((<usize>r * <usize>k) << 2);
    const out = xq + <usize>r * <usize>kp;
    let amax: f32 = 0;
    for (let i = 0; i < k; i++) amax = max(amax, abs(load<f32>(row + ((<usize>i) << 2))));
    const s: f32 = amax > 0 ? amax / 63 : 1;
    for (let i = 0; i < k; i++) {
      const q = min(max(nearest(load<f32>(row + ((<usize>i) << 2)) / s), <f32>-63), <f32>63);
      store<u8>(out + <usize>i, <u8>(<i32>q + ACT_ZERO));
    }
    for (let i = k; i < kp; i++) store<u8>(out + <usize>i, <u8>ACT_ZERO);
    store<f32>(xs + ((<usize>r) << 2), s);
  }
}

const K_Q_LO = memory.data<i32>([-63, -63, -63, -63], 16);
const K_Q_HI = memory.data<i32>([63, 63, 63, 63], 16);
const K_Q_ZERO = memory.data<i32>([ACT_ZERO, ACT_ZERO, ACT_ZERO, ACT_ZERO], 16);
const K_MAGNITUDE = memory.data<i32>([0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff], 16);

/**
 * SIMD: max |x| as an unsigned max of the bit patterns (the same order as the floats once the sign
 * is cleared, NaN included), then 16 values per step: divide, round and convert (quant4), clamp in i32,
 * add the zero point and narrow i32 -> i16 -> u8. For finite inputs
 * |x / s| <= 63.00001, so clamping after rounding equals the reference's clamp before; NaN gives 0 in
 * both. Scalar tail for K % 16. Same signature and bit-identical output as the scalar reference.
 */
export function q8_act_quantize__simd(x: usize, xq: usize, xs: usize, m: i32, k: i32): void {
  const kp = actStride(k);
  const k16 = k & ~15;
  const k4 = k & ~3;
  // rows in static memory, not splats (assembly/ops/math.ts says why)
  const lo = v128.load(K_Q_LO);
  const hi = v128.load(K_Q_HI);
  const zp = v128.load(K_Q_ZERO);
  const magnitude = v128.load(K_MAGNITUDE);
  for (let r = 0; r < m; r++) {
    const row = x + ((<usize>r * <usize>k) << 2);
    const out = xq + <usize>r * <usize>kp;
    let vmax = i32x4.splat(0);
    let i = 0;
    for (; i < k4; i += 4) vmax = i32x4.max_u(vmax, v128.and(v128.load(row + ((<usize>i) << 2)), magnitude));
    vmax = i32x4.max_u(vmax, i32x4.shuffle(vmax, vmax, 2, 3, 0, 1));
    vmax = i32x4.max_u(vmax, i32x4.shuffle(vmax, vmax, 1, 0, 3, 2));
    let amax = f32x4.extract_lane(vmax, 0);
    for (; i < k; i++) amax = max(amax, abs(load<f32>(row + ((<usize>i) << 2))));
    const s: f32 = amax > 0 ? amax / 63 : 1;
    const vs = f32x4.splat(s);
    i = 0;
    for (; i < k16; i += 16) {
      const p = row + ((<usize>i) << 2);
      const q0 = quant4(v128.load(p), vs, lo, hi, zp);
      const q1 = quant4(v128.load(p, 16), vs, lo, hi, zp);
      const q2 = quant4(v128.load(p, 32), vs, lo, hi, zp);
      const q3 = quant4(v128.load(p, 48), vs, lo, hi, zp);
      const h0 = i16x8.narrow_i32x4_s(q0, q1);
      const h1 = i16x8.narrow_i32x4_s(q2, q3);
      v128.store(out + <usize>i, i8x16.narrow_i16x8_u(h0, h1));
    }
    for (; i < k; i++) {
      const q = min(max(nearest(load<f32>(row + ((<usize>i) << 2)) / s), <f32>-63), <f32>63);
      store<u8>(out + <usize>i, <u8>(<i32>q + ACT_ZERO));
    }
    for (; i < kp; i++) store<u8>(out + <usize>i, <u8>ACT_ZERO);
    store<f32>(xs + ((<usize>r) << 2), s);
  }
}

// x / s rounded half to even, as i32 clamped to [-63, 63], plus the zero point. Rounding and conversion
// in one add: for |x / s| < 2^22, x / s + 1.5 * 2^23 rounds half to even exactly as f32x4.nearest does and
// its bit pattern is 0x4B400000 + the rounded value (|x / s| <= 63.00001 here); a NaN lane is zeroed
// (NaN == NaN is false), as trunc_sat gives 0 for it. Fewer instructions than nearest + trunc_sat in V8.
function quant4(v: v128, vs: v128, lo: v128, hi: v128, zp: v128): v128 {
  const d = f32x4.div(v, vs);
  const q = v128.and(
    i32x4.sub(f32x4.add(d, v128.load(K_ROUND_MAGIC)), v128.load(K_ROUND_BITS)),
    f32x4.eq(d, d),
  );
  return i32x4.add(i32x4.min_s(i32x4.max_s(q, lo), hi), zp);
}
