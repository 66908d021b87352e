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
