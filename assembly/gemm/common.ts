// Helpers shared by the GEMM/GEMV kernels: horizontal reductions, column-tile loads and stores that
// clamp at the right edge (N tails), the f32 output stage, and the scalar K-tail dot.
// Requires SIMD128. All small enough for binaryen (-O3) to inline into the microkernels.

/** Sums of four i32x4 accumulators: [sum(a), sum(b), sum(c), sum(d)] (exact integer adds). */
export function hsum4_i32(a: v128, b: v128, c: v128, d: v128): v128 {
  // [a0+a2, b0+b2, a1+a3, b1+b3] and the same for c, d; then fold the halves.
  const ab = i32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = i32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/** Same reduction for f32x4 accumulators, in the order ((a0+a2)+(a1+a3)). */
export function hsum4_f32(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return f32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/** Four 32-bit values p[j..j+3]; with nv < 4 valid lanes the last valid one is repeated. */
export function load4(p: usize, j: i32, nv: i32): v128 {
  const q = p + ((<usize>j) << 2);
  if (nv == 4) return v128.load(q);
  let v = v128.load32_splat(q);
  if (nv > 1) v = v128.load32_lane(q + 4, v, 1);
  if (nv > 2) v = v128.load32_lane(q + 8, v, 2);
  return v;
}

/** Stores the first nv (1..4) lanes of v at p. */
export function store4(p: usize, v: v128, nv: i32): void {
  if (nv == 4) {
    v128.store(p, v);
    return;
  }
  v128.store32_lane(p, v, 0);
  if (nv > 1) v128.store32_lane(p + 4, v, 1);
  if (nv > 2) v128.store32_lane(p + 8, v, 2);
}

/**
 * The f32 output stage of a quantized tile row, lane by lane: y = f32(dot) * (s_x * s_w) (+ bias).
 * The scalar references compute exactly this per element, so results are bit-identical.
 */
export function outRow(yrow: usize, dot: v128, sx: f32, wsv: v128, bias: usize, bv: v128, nv: i32): void {
  let v = f32x4.mul(f32x4.convert_i32x4_s(dot), f32x4.mul(f32x4.splat(sx), wsv));
  if (bias) v = f32x4.add(v, bv);
  store4(yrow, v, nv);
}

/** Scalar integer dot over [from, to): sum w[i] * (x[i] - zp), w signed bytes, x unsigned bytes. */
export function dotTail(x: usize, w: usize, from: i32, to: i32, zp: i32): i32 {
  let s = 0;
  for (let i = from; i < to; i++) s += <i32>load<i8>(w + <usize>i) * (<i32>load<u8>(x + <usize>i) - zp);
  return s;
}

/** Row pointer of output channel j + t, clamped to the last channel (N tails compute duplicates). */
export function rowPtr(base: usize, j: i32, t: i32, n: i32, stride: i32): usize {
  return base + <usize>min(j + t, n - 1) * <usize>stride;
}
