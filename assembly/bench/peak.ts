// Peak-rate loops for the benchmark (bench only), one per instruction family the kernels use. Each
// runs the 2x4 microkernel's operand pattern (2 activation + 4 weight vectors loaded per step, 8
// independent accumulators) over 256 bytes of static, L1-resident data, so it measures the
// instruction mix at its throughput with no cache misses, no tails and no output stage: the ceiling a
// microkernel can approach. (A pure register loop with the accumulator fed back into the multiply
// ran slower than the kernels: latency-bound.) The return value keeps the work alive.

const PEAK_DATA: usize = memory.data(256, 16);

/**
 * 8 x the fused i32x4.relaxed_dot_i8x16_i7x16_add_s per step (16 MACs each): the instruction the q8/q4
 * relaxed kernels use. Traps in the `simd` build.
 */
export function peak_relaxed_dot(iters: i32, seed: i32): i32 {
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else {
    let c0 = i32x4.splat(seed),
      c1 = c0,
      c2 = c0,
      c3 = c0,
      c4 = c0,
      c5 = c0,
      c6 = c0,
      c7 = c0;
    for (let i = 0; i < iters; i++) {
      const p = PEAK_DATA + ((<usize>(i & 1)) << 7);
      const a0 = v128.load(p);
      const a1 = v128.load(p, 16);
      const b0 = v128.load(p, 32);
      const b1 = v128.load(p, 48);
      const b2 = v128.load(p, 64);
      const b3 = v128.load(p, 80);
      c0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b0, a0, c0);
      c4 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b0, a1, c4);
      c1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b1, a0, c1);
      c5 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b1, a1, c5);
      c2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b2, a0, c2);
      c6 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b2, a1, c6);
      c3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b3, a0, c3);
      c7 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b3, a1, c7);
    }
    return fold8(c0, c1, c2, c3, c4, c5, c6, c7) ^ seed;
  }
  return 0;
}

/**
 * 8 x the split relaxed dot (i16x8.relaxed_dot_i8x16_i7x16_s, i32x4.dot_i16x8_s with ones, i32x4.add;
 * 16 MACs each) per step: the form of the __relaxed_split kernels, faster than the fused one where V8
 * emulates it (no VNNI), slower where it is one vpdpbusd (see rdot in q8_rows.ts). Traps in the `simd` build.
 */
export function peak_relaxed_dot_split(iters: i32, seed: i32): i32 {
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else {
    const ones = i16x8.splat(1);
    let c0 = i32x4.splat(seed),
      c1 = c0,
      c2 = c0,
      c3 = c0,
      c4 = c0,
      c5 = c0,
      c6 = c0,
      c7 = c0;
    for (let i = 0; i < iters; i++) {
      const p = PEAK_DATA + ((<usize>(i & 1)) << 7);
      const a0 = v128.load(p);
      const a1 = v128.load(p, 16);
      const b0 = v128.load(p, 32);
      const b1 = v128.load(p, 48);
      const b2 = v128.load(p, 64);
      const b3 = v128.load(p, 80);
      c0 = i32x4.add(c0, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(b0, a0), ones));
      c4 = i32x4.add(c4, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(b0, a1), ones));
      c1 = i32x4.add(c1, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(b1, a0), ones));
      c5 = i32x4.add(c5, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(b1, a1), ones));
      c2 = i32x4.add(c2, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(b2, a0), ones));
      c6 = i32x4.add(c6, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(b2, a1), ones));
      c3 = i32x4.add(c3, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(b3, a0), ones));
      c7 = i32x4.add(c7, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(b3, a1), ones));
    }
    return fold8(c0, c1, c2, c3, c4, c5, c6, c7) ^ seed;
  }
  return 0;
}

/** 8 x (i32x4.dot_i16x8_s + i32x4.add) per step (8 MACs each), operands already i16. */
export function peak_dot_i16x8(iters: i32, seed: i32): i32 {
  let c0 = i32x4.splat(seed),
    c1 = c0,
    c2 = c0,
    c3 = c0,
    c4 = c0,
    c5 = c0,
    c6 = c0,
    c7 = c0;
  for (let i = 0; i < iters; i++) {
    const p = PEAK_DATA + ((<usize>(i & 1)) << 7);
    const a0 = v128.load(p);
    const a1 = v128.load(p, 16);
    const b0 = v128.load(p, 32);
    const b1 = v128.load(p, 48);
    const b2 = v128.load(p, 64);
    const b3 = v128.load(p, 80);
    c0 = i32x4.add(c0, i32x4.dot_i16x8_s(b0, a0));
    c4 = i32x4.add(c4, i32x4.dot_i16x8_s(b0, a1));
    c1 = i32x4.add(c1, i32x4.dot_i16x8_s(b1, a0));
    c5 = i32x4.add(c5, i32x4.dot_i16x8_s(b1, a1));
    c2 = i32x4.add(c2, i32x4.dot_i16x8_s(b2, a0));
    c6 = i32x4.add(c6, i32x4.dot_i16x8_s(b2, a1));
    c3 = i32x4.add(c3, i32x4.dot_i16x8_s(b3, a0));
    c7 = i32x4.add(c7, i32x4.dot_i16x8_s(b3, a1));
  }
  return fold8(c0, c1, c2, c3, c4, c5, c6, c7) ^ seed;
}

/** 8 x (f32x4.mul + f32x4.add) per step (4 MACs each): the plain-SIMD f32 peak. */
export function peak_f32x4_muladd(iters: i32, seed: i32): i32 {
  let c0 = f32x4.splat(<f32>seed),
    c1 = c0,
    c2 = c0,
    c3 = c0,
    c4 = c0,
    c5 = c0,
    c6 = c0,
    c7 = c0;
  for (let i = 0; i < iters; i++) {
    const p = PEAK_DATA + ((<usize>(i & 1)) << 7);
    const a0 = v128.load(p);
    const a1 = v128.load(p, 16);
    const b0 = v128.load(p, 32);
    const b1 = v128.load(p, 48);
    const b2 = v128.load(p, 64);
    const b3 = v128.load(p, 80);
    c0 = f32x4.add(c0, f32x4.mul(a0, b0));
    c4 = f32x4.add(c4, f32x4.mul(a1, b0));
    c1 = f32x4.add(c1, f32x4.mul(a0, b1));
    c5 = f32x4.add(c5, f32x4.mul(a1, b1));
    c2 = f32x4.add(c2, f32x4.mul(a0, b2));
    c6 = f32x4.add(c6, f32x4.mul(a1, b2));
    c3 = f32x4.add(c3, f32x4.mul(a0, b3));
    c7 = f32x4.add(c7, f32x4.mul(a1, b3));
  }
  return fold8(c0, c1, c2, c3, c4, c5, c6, c7) ^ seed;
}

function fold8(c0: v128, c1: v128, c2: v128, c3: v128, c4: v128, c5: v128, c6: v128, c7: v128): i32 {
  const t = v128.xor(
    v128.xor(v128.xor(c0, c1), v128.xor(c2, c3)),
    v128.xor(v128.xor(c4, c5), v128.xor(c6, c7)),
  );
  return i32x4.extract_lane(t, 0) ^ i32x4.extract_lane(t, 3);
}
