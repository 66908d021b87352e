// Shared f32 math for the kernels: exp, the erf used by GELU, and horizontal reductions.
// Every function exists twice, a scalar one and an f32x4 one, performing the SAME IEEE operations in
// the same order (no fused multiply-add), so a __scalar kernel and its __simd twin produce bit-identical
// elementwise results; only reductions (sums over a row) may differ, by their summation order.
// Requires: SIMD128 for the *_f32x4 helpers. Not exported from the module (helpers, not kernels).
//
// The f32x4 helpers read their constants from lane-replicated copies in static memory (the K_* rows,
// `v128.load(K_C)` = f32x4.splat(C)), not from f32x4.splat(C): V8 (Node 22 and workerd, x64) builds a
// v128.const afresh at every use, inside loops too (the bits go through a general register, then a
// broadcast), and Binaryen folds a splat hoisted into a local back into its uses, so a loop evaluating
// exp rebuilt its dozen constants at every step. A v128.load of a row is one L1 read. exp over 73,728
// values on an AMD EPYC (Zen 3): 2.3 -> 1.7 ns per value in Node, 2.1 -> 1.6 in workerd. Same bits, so
// the same results. Kernels with constants in their own hot loops take rows from here too. With the
// loads Binaryen no longer inlines exp_f32x4 by itself; a call per vector would cost more than the
// constants saved, so every loop calls these helpers as inline.always(...).
//
// exp(x), steps (the XNNPACK "rr2_p5" scheme):
//   1. clamp x to [EXP_LO, EXP_HI]; n = nearest(x * log2(e))
//   2. t = x - n*ln2_hi - n*ln2_lo (Cody-Waite: n*ln2_hi is exact, |t| <= ln2/2)
//   3. p = c1 + t*(c2 + t*(c3 + t*(c4 + t*c5)))  (minimax on [-ln2/2, ln2/2])
//   4. s = 2^n built in the exponent bits; exp = s + (t*s)*p
// Error: <= 3.3 ulp relative (2e-7) on [-87.3, 88.37], measured against float64 exp.
// Specials: x < EXP_LO (incl. -inf) -> exactly 0 (true value is below FLT_MIN, < 1.2e-38);
// x > EXP_HI (incl. +inf) -> +inf (true values there are >= 2.5e38, within 1.4x of FLT_MAX); NaN -> NaN.

/** Below this exp(x) flushes to 0: ln(FLT_MIN), so 2^n stays a normal number. */
export const EXP_LO: f32 = -87.33654;
/** Above this exp(x) is +inf: 127.49 * ln2, so n <= 127 and 2^n stays finite. */
export const EXP_HI: f32 = 88.37;
const LOG2E: f32 = 1.442695022;
const LN2_HI: f32 = 0.693145752; // 0x1.62E400p-1: 16 trailing zero bits, n*LN2_HI is exact
const LN2_LO: f32 = 0.000001428606765; // 0x1.7F7D1Cp-20
const C5: f32 = 0.008289290592; // 0x1.0F9F9Cp-7
const C4: f32 = 0.04189782217; // 0x1.573A1Ap-5
const C3: f32 = 0.1666765213; // 0x1.555A80p-3
const C2: f32 = 0.4999915063; // 0x1.FFFDC6p-2
const C1: f32 = 0.999999702; // 0x1.FFFFF6p-1
/** 1.5 * 2^23: for |v| < 2^22, v + ROUND_MAGIC rounds v half to even and its bits are 0x4B400000 + that integer. */
export const ROUND_MAGIC: f32 = 12582912;

// Lane-replicated rows of the constants above (see the header).
const K_EXP_LO = memory.data<f32>([EXP_LO, EXP_LO, EXP_LO, EXP_LO], 16);
const K_EXP_HI = memory.data<f32>([EXP_HI, EXP_HI, EXP_HI, EXP_HI], 16);
const K_LOG2E = memory.data<f32>([LOG2E, LOG2E, LOG2E, LOG2E], 16);
const K_LN2_HI = memory.data<f32>([LN2_HI, LN2_HI, LN2_HI, LN2_HI], 16);
const K_LN2_LO = memory.data<f32>([LN2_LO, LN2_LO, LN2_LO, LN2_LO], 16);
const K_C5 = memory.data<f32>([C5, C5, C5, C5], 16);
const K_C4 = memory.data<f32>([C4, C4, C4, C4], 16);
const K_C3 = memory.data<f32>([C3, C3, C3, C3], 16);
const K_C2 = memory.data<f32>([C2, C2, C2, C2], 16);
const K_C1 = memory.data<f32>([C1, C1, C1, C1], 16);
/** f32x4.splat(ROUND_MAGIC) as a row (the rounding add of exp and of the activation quantizer). */
export const K_ROUND_MAGIC = memory.data<f32>([ROUND_MAGIC, ROUND_MAGIC, ROUND_MAGIC, ROUND_MAGIC], 16);
/** i32x4.splat of ROUND_MAGIC's bit pattern, 0x4B400000. */
export const K_ROUND_BITS = memory.data<i32>([0x4b400000, 0x4b400000, 0x4b400000, 0x4b400000], 16);
const K_EXP_BIAS = memory.data<i32>(
  [127 - 0x4b400000, 127 - 0x4b400000, 127 - 0x4b400000, 127 - 0x4b400000],
  16,
);
const K_INF = memory.data<f32>([Infinity, Infinity, Infinity, Infinity], 16);
/** f32x4.splat(1) as a row. */
export const K_ONE = memory.data<f32>([1, 1, 1, 1], 16);

/** exp(x) in f32 (see the header for the method and its error). */
export function exp_f32(x: f32): f32 {
  if (x < EXP_LO) return 0;
  if (x > EXP_HI) return Infinity;
  const xc = min<f32>(max<f32>(x, EXP_LO), EXP_HI);
  const n = nearest<f32>(xc * LOG2E);
  let t = xc - n * LN2_HI;
  t = t - n * LN2_LO;
  let p = C5 * t + C4;
  p = p * t + C3;
  p = p * t + C2;
  p = p * t + C1;
  const s = reinterpret<f32>((<i32>n + 127) << 23);
  t = t * s;
  return t * p + s;
}

/** exp(x) on 4 lanes; bit-identical per lane to exp_f32. */
export function exp_f32x4(x: v128): v128 {
  const under = f32x4.lt(x, v128.load(K_EXP_LO));
  const over = f32x4.gt(x, v128.load(K_EXP_HI));
  // pmax/pmin (one maxps/minps each) instead of max/min (V8 adds NaN and signed-zero fix-ups): with x
  // first in pmax and the clamped value first in pmin a NaN lane stays NaN, so every lane equals exp_f32's
  const xc = f32x4.pmin(f32x4.pmax(x, v128.load(K_EXP_LO)), v128.load(K_EXP_HI));
  const n = f32x4.nearest(f32x4.mul(xc, v128.load(K_LOG2E)));
  let t = f32x4.sub(xc, f32x4.mul(n, v128.load(K_LN2_HI)));
  t = f32x4.sub(t, f32x4.mul(n, v128.load(K_LN2_LO)));
  let p = f32x4.add(f32x4.mul(v128.load(K_C5), t), v128.load(K_C4));
  p = f32x4.add(f32x4.mul(p, t), v128.load(K_C3));
  p = f32x4.add(f32x4.mul(p, t), v128.load(K_C2));
  p = f32x4.add(f32x4.mul(p, t), v128.load(K_C1));
  // 2^n from n's bits: n is a whole number in [-126, 127], so n + 1.5 * 2^23 is exact and its bit pattern
  // is 0x4B400000 + n (one add instead of trunc_sat's saturating sequence; NaN lanes are masked below)
  const nb = f32x4.add(n, v128.load(K_ROUND_MAGIC));
  const s = i32x4.shl(i32x4.add(nb, v128.load(K_EXP_BIAS)), 23);
  t = f32x4.mul(t, s);
  const r = v128.andnot(f32x4.add(f32x4.mul(t, p), s), under);
  return v128.bitselect(v128.load(K_INF), r, over);
}

// erf(z) as a rational function (the XNNPACK "rational 12/10" scheme, coefficients fitted here by an
// iteratively reweighted least-squares minimax on [0, 3.92] and rounded to f32):
//   zc = clamp(z, -ERF_ZC, ERF_ZC);  w = zc*zc
//   erf(z) ~= clamp(zc * P(w) / Q(w), -1, 1),  P, Q of degree 5 in w (Horner, Q's constant term 1)
// Max |error| 4e-7 measured in f32 arithmetic against float64 erf (the fit alone: 1.6e-8); beyond ERF_ZC,
// erf is 1 within 1.5e-8, which the clamps give exactly. No exp and one division per value: GELU over the
// vision MLP's 73,728 values takes ~40% of the time of the former Abramowitz & Stegun erfc + exp form.
// The outer clamp keeps |erf| <= 1 where the rounded quotient overshoots by an ulp. NaN stays NaN
// (pmax/pmin with the value first, and the same order in the scalar twin).
/** The quotient is 1 + 2 ulp at z = ERF_ZC (1 - erf(4) = 1.5e-8), so the clamps give erf = +-1 from there on. */
const ERF_ZC: f32 = 4;
const ERF_P0: f32 = 1.128378987312317; // 0x3F906EB9
const ERF_P1: f32 = 0.19276322424411774; // 0x3E4563B9
const ERF_P2: f32 = 0.05305995047092438; // 0x3D595564
const ERF_P3: f32 = 0.003868167055770755; // 0x3B7D8113
const ERF_P4: f32 = 0.00028745445888489485; // 0x3996B57C
const ERF_P5: f32 = 2.034469616774004e-6; // 0x360887EC
const ERF_Q1: f32 = 0.5041636228561401; // 0x3F0110DE
const ERF_Q2: f32 = 0.11508388817310333; // 0x3DEBB11A
const ERF_Q3: f32 = 0.015172005631029606; // 0x3C789401
const ERF_Q4: f32 = 0.001188035705126822; // 0x3A9BB7DD
const ERF_Q5: f32 = 3.8066569686634466e-5; // 0x381FA9AB

const K_ERF_ZC = memory.data<f32>([ERF_ZC, ERF_ZC, ERF_ZC, ERF_ZC], 16);
const K_ERF_NZC = memory.data<f32>([-ERF_ZC, -ERF_ZC, -ERF_ZC, -ERF_ZC], 16);
const K_MINUS_ONE = memory.data<f32>([-1, -1, -1, -1], 16);
const K_ERF_P0 = memory.data<f32>([ERF_P0, ERF_P0, ERF_P0, ERF_P0], 16);
const K_ERF_P1 = memory.data<f32>([ERF_P1, ERF_P1, ERF_P1, ERF_P1], 16);
const K_ERF_P2 = memory.data<f32>([ERF_P2, ERF_P2, ERF_P2, ERF_P2], 16);
const K_ERF_P3 = memory.data<f32>([ERF_P3, ERF_P3, ERF_P3, ERF_P3], 16);
const K_ERF_P4 = memory.data<f32>([ERF_P4, ERF_P4, ERF_P4, ERF_P4], 16);
const K_ERF_P5 = memory.data<f32>([ERF_P5, ERF_P5, ERF_P5, ERF_P5], 16);
const K_ERF_Q1 = memory.data<f32>([ERF_Q1, ERF_Q1, ERF_Q1, ERF_Q1], 16);
const K_ERF_Q2 = memory.data<f32>([ERF_Q2, ERF_Q2, ERF_Q2, ERF_Q2], 16);
const K_ERF_Q3 = memory.data<f32>([ERF_Q3, ERF_Q3, ERF_Q3, ERF_Q3], 16);
const K_ERF_Q4 = memory.data<f32>([ERF_Q4, ERF_Q4, ERF_Q4, ERF_Q4], 16);
const K_ERF_Q5 = memory.data<f32>([ERF_Q5, ERF_Q5, ERF_Q5, ERF_Q5], 16);

/** pmax then pmin as f32x4.pmax/pmin do per lane: lo if v < lo, hi if hi < v, else v (NaN stays). */
function clamp_p(v: f32, lo: f32, hi: f32): f32 {
  const a = v < lo ? lo : v;
  return hi < a ? hi : a;
}

/** erf(z) in f32 (see above for the method and its error). */
export function erf_f32(z: f32): f32 {
  const zc = clamp_p(z, -ERF_ZC, ERF_ZC);
  const w = zc * zc;
  let p = ERF_P5 * w + ERF_P4;
  p = p * w + ERF_P3;
  p = p * w + ERF_P2;
  p = p * w + ERF_P1;
  p = p * w + ERF_P0;
  let q = ERF_Q5 * w + ERF_Q4;
  q = q * w + ERF_Q3;
  q = q * w + ERF_Q2;
  q = q * w + ERF_Q1;
  q = q * w + <f32>1;
  return clamp_p((zc * p) / q, -1, 1);
}

/** erf(z) on 4 lanes; bit-identical per lane to erf_f32. */
export function erf_f32x4(z: v128): v128 {
  const zc = f32x4.pmin(f32x4.pmax(z, v128.load(K_ERF_NZC)), v128.load(K_ERF_ZC));
  const w = f32x4.mul(zc, zc);
  let p = f32x4.add(f32x4.mul(v128.load(K_ERF_P5), w), v128.load(K_ERF_P4));
  p = f32x4.add(f32x4.mul(p, w), v128.load(K_ERF_P3));
  p = f32x4.add(f32x4.mul(p, w), v128.load(K_ERF_P2));
  p = f32x4.add(f32x4.mul(p, w), v128.load(K_ERF_P1));
  p = f32x4.add(f32x4.mul(p, w), v128.load(K_ERF_P0));
  let q = f32x4.add(f32x4.mul(v128.load(K_ERF_Q5), w), v128.load(K_ERF_Q4));
  q = f32x4.add(f32x4.mul(q, w), v128.load(K_ERF_Q3));
  q = f32x4.add(f32x4.mul(q, w), v128.load(K_ERF_Q2));
  q = f32x4.add(f32x4.mul(q, w), v128.load(K_ERF_Q1));
  q = f32x4.add(f32x4.mul(q, w), v128.load(K_ONE));
  const e = f32x4.div(f32x4.mul(zc, p), q);
  return f32x4.pmin(f32x4.pmax(e, v128.load(K_MINUS_ONE)), v128.load(K_ONE));
}

/** Sum of the 4 lanes as (l0 + l1) + (l2 + l3). */
export function hsum_f32x4(v: v128): f32 {
  return (
    f32x4.extract_lane(v, 0) +
    f32x4.extract_lane(v, 1) +
    (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3))
  );
}

/** Max of the 4 lanes (NaN-propagating, like f32.max). */
export function hmax_f32x4(v: v128): f32 {
  return max<f32>(
    max<f32>(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)),
    max<f32>(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)),
  );
}

/** Lane sums of four vectors: [sum(a), sum(b), sum(c), sum(d)] (a 4x4 transpose-and-add). */
export function hsum4_f32x4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(f32x4.shuffle(a, b, 0, 4, 1, 5), f32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(f32x4.shuffle(c, d, 0, 4, 1, 5), f32x4.shuffle(c, d, 2, 6, 3, 7));
  return f32x4.add(f32x4.shuffle(ab, cd, 0, 1, 4, 5), f32x4.shuffle(ab, cd, 2, 3, 6, 7));
}
