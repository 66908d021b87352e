// Load-time precomputation for the relaxed q8 GEMM: wsum[n] = sum_k w[n, k] over int8 weights
// w [N, K] (row stride K). The relaxed dot multiplies weights by the biased activations (zero point
// 64), so the GEMM subtracts 64 * wsum[n]; the engine computes wsum once per tensor at load time.
// Exact in i32 for K < 2^24. Requires SIMD128 for the __simd variant.

/** Scalar reference. w: i8 [N, K]; out: i32 [N]. */
export function q8_weight_sums__scalar(w: usize, out: usize, n: i32, k: i32): void {
  for (let r = 0; r < n; r++) {
    const row = w + <usize>r * <usize>k;
    let s = 0;
    for (let i = 0; i < k; i++) s += <i32>load<i8>(row + <usize>i);
    store<i32>(out + ((<usize>r) << 2), s);
  }
}

/** SIMD: pairwise widening adds (i8 -> i16 -> i32) 16 bytes at a time, scalar tail. */
export function q8_weight_sums__simd(w: usize, out: usize, n: i32, k: i32): void {
  const k16 = k & ~15;
  for (let r = 0; r < n; r++) {
    const row = w + <usize>r * <usize>k;
    let acc = i32x4.splat(0);
    let i = 0;
    for (; i < k16; i += 16) {
      const h = i16x8.extadd_pairwise_i8x16_s(v128.load(row + <usize>i));
      acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(h));
    }
    let s =
      i32x4.extract_lane(acc, 0) +
      i32x4.extract_lane(acc, 1) +
      i32x4.extract_lane(acc, 2) +
      i32x4.extract_lane(acc, 3);
    for (; i < k; i++) s += <i32>load<i8>(row + <usize>i);
    store<i32>(out + ((<usize>r) << 2), s);
  }
}
