// Which instruction sets this build of the kernel module was compiled with.
// Bit 0: SIMD128, bit 1: relaxed SIMD.

/** Feature bits of this build: 1 = simd128, 2 = relaxed-simd. */
export function build_features(): i32 {
  let bits = 0;
  if (ASC_FEATURE_SIMD) bits |= 1;
  if (ASC_FEATURE_RELAXED_SIMD) bits |= 2;
  return bits;
}

/** First byte of linear memory that no static data uses: the host allocates from here up. */
export function heap_base(): usize {
  return __heap_base;
}

/**
 * Lane 0 of i32x4.relaxed_dot_i8x16_i7x16_add_s on operands outside its 7-bit range, where each engine
 * may answer its own way: bytes 0xff (255 unsigned, -1 signed) against 0x80 (128 unsigned, -128 signed),
 * in that order (swap = 0) or swapped (swap = 1). The answer tells how the engine lowers the
 * instruction (wasm/kernels.ts `rdotLowering`); 0 in a build without relaxed SIMD.
 */
export function rdot_probe(swap: i32): i32 {
  if (!ASC_FEATURE_RELAXED_SIMD) return 0;
  else {
    const a = i8x16.splat(<i8>0xff);
    const b = i8x16.splat(<i8>0x80);
    const r = swap
      ? i32x4.relaxed_dot_i8x16_i7x16_add_s(b, a, i32x4.splat(0))
      : i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, i32x4.splat(0));
    return i32x4.extract_lane(r, 0);
  }
  return 0;
}
