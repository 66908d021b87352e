// Register-only loops that measure the core's peak rate for one instruction (bench only): each
// iteration issues 12 independent operations on registers, no memory traffic, so the loop runs at
// the instruction's throughput. The benchmark reports every kernel as a fraction of the peak of
// the instruction it is built on. Inputs derive from `seed` so nothing folds at compile time; the
// return value keeps the work alive.

/** 12 x i32x4.relaxed_dot_i8x16_i7x16_add_s per iteration (16 MACs each). Traps in the `simd` build. */
export function peak_relaxed_dot(iters: i32, seed: i32): i32 {
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else {
    const a = i8x16.splat(<i8>seed);
    const b = i8x16.splat(<i8>(seed & 127));
    let c0 = i32x4.splat(seed), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    let c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
    for (let i = 0; i < iters; i++) {
      c0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c0);
      c1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c1);
      c2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c2);
      c3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c3);
      c4 = i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c4);
      c5 = i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c5);
      c6 = i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c6);
      c7 = i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c7);
      c8 = i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c8);
      c9 = i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c9);
      c10 = i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c10);
      c11 = i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c11);
    }
    return fold(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11);
  }
  return 0;
}

/** 12 x (i32x4.dot_i16x8_s + i32x4.add) per iteration (8 MACs each). */
export function peak_dot_i16x8(iters: i32, seed: i32): i32 {
  const b = i16x8.splat(<i16>(seed + 1));
  let c0 = i32x4.splat(seed), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
  let c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  for (let i = 0; i < iters; i++) {
    c0 = i32x4.add(c0, i32x4.dot_i16x8_s(c0, b));
    c1 = i32x4.add(c1, i32x4.dot_i16x8_s(c1, b));
    c2 = i32x4.add(c2, i32x4.dot_i16x8_s(c2, b));
    c3 = i32x4.add(c3, i32x4.dot_i16x8_s(c3, b));
    c4 = i32x4.add(c4, i32x4.dot_i16x8_s(c4, b));
    c5 = i32x4.add(c5, i32x4.dot_i16x8_s(c5, b));
    c6 = i32x4.add(c6, i32x4.dot_i16x8_s(c6, b));
    c7 = i32x4.add(c7, i32x4.dot_i16x8_s(c7, b));
    c8 = i32x4.add(c8, i32x4.dot_i16x8_s(c8, b));
    c9 = i32x4.add(c9, i32x4.dot_i16x8_s(c9, b));
    c10 = i32x4.add(c10, i32x4.dot_i16x8_s(c10, b));
    c11 = i32x4.add(c11, i32x4.dot_i16x8_s(c11, b));
  }
  return fold(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11);
}

/** 12 x (f32x4.mul + f32x4.add) per iteration (4 MACs each): the plain-SIMD f32 peak. */
export function peak_f32x4_muladd(iters: i32, seed: i32): i32 {
  const a = f32x4.splat(<f32>seed * 1e-3);
  const b = f32x4.splat(0.999);
  let c0 = f32x4.splat(<f32>seed), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
  let c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  for (let i = 0; i < iters; i++) {
    c0 = f32x4.add(f32x4.mul(c0, b), a);
    c1 = f32x4.add(f32x4.mul(c1, b), a);
    c2 = f32x4.add(f32x4.mul(c2, b), a);
    c3 = f32x4.add(f32x4.mul(c3, b), a);
    c4 = f32x4.add(f32x4.mul(c4, b), a);
    c5 = f32x4.add(f32x4.mul(c5, b), a);
    c6 = f32x4.add(f32x4.mul(c6, b), a);
    c7 = f32x4.add(f32x4.mul(c7, b), a);
    c8 = f32x4.add(f32x4.mul(c8, b), a);
    c9 = f32x4.add(f32x4.mul(c9, b), a);
    c10 = f32x4.add(f32x4.mul(c10, b), a);
    c11 = f32x4.add(f32x4.mul(c11, b), a);
  }
  return fold(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11);
}

// @ts-ignore: decorator
@inline
function fold(
  c0: v128, c1: v128, c2: v128, c3: v128, c4: v128, c5: v128,
  c6: v128, c7: v128, c8: v128, c9: v128, c10: v128, c11: v128,
): i32 {
  const s = v128.xor(v128.xor(v128.xor(c0, c1), v128.xor(c2, c3)), v128.xor(v128.xor(c4, c5), v128.xor(c6, c7)));
  const t = v128.xor(v128.xor(s, v128.xor(c8, c9)), v128.xor(c10, c11));
  return i32x4.extract_lane(t, 0) ^ i32x4.extract_lane(t, 3);
}
