// Selection over an f32 vector for the sampler: argmax and top-k.
// Rules shared by all variants (so every variant returns the same answer, bit for bit):
//   - ties go to the lowest index; -0 and +0 are equal;
//   - NaN entries are ignored (never selected);
//   - argmax of an empty or all-NaN vector is 0;
//   - top-k returns values in descending order (ties: lower index first) and the count written,
//     min(k, number of non-NaN entries).
// SIMD argmax finds the max value with a NaN-ignoring lane max, then the first index that holds it. SIMD top-k is the scalar insertion algorithm
// with a 4-wide filter: once k entries are held, a block of 4 is skipped unless one beats the k-th value.
// Requires: SIMD128 for the __simd variants.

/** Argmax, scalar reference. x: [n]. Returns the index of the largest value (lowest on ties). */
export function f32_argmax__scalar(x: usize, n: i32): i32 {
  let best: f32 = -Infinity;
  let idx = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + ((<usize>i) << 2));
    if (v > best) {
      best = v;
      idx = i;
    }
  }
  return idx;
}

/** Argmax, SIMD. Same signature and result as the scalar reference. */
export function f32_argmax__simd(x: usize, n: i32): i32 {
  // Pass 1: the max value. pmax(acc, v) = acc < v ? v : acc never takes a NaN `v`.
  let vbest = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) vbest = f32x4.pmax(vbest, v128.load(x + ((<usize>i) << 2)));
  let best = max<f32>(
    max<f32>(f32x4.extract_lane(vbest, 0), f32x4.extract_lane(vbest, 1)),
    max<f32>(f32x4.extract_lane(vbest, 2), f32x4.extract_lane(vbest, 3)),
  );
  for (; i < n; i++) {
    const v = load<f32>(x + ((<usize>i) << 2));
    if (v > best) best = v;
  }
  // No entry beats -inf (all -inf or NaN): the scalar loop never updates and returns 0.
  if (best == -Infinity) return 0;
  // Pass 2: the first index holding it (== also matches -0 against +0, as the scalar > rule does).
  const vb = f32x4.splat(best);
  i = 0;
  for (; i + 4 <= n; i += 4) {
    const mask = i32x4.bitmask(f32x4.eq(v128.load(x + ((<usize>i) << 2)), vb));
    if (mask != 0) return i + ctz(mask);
  }
  for (; i < n; i++) if (load<f32>(x + ((<usize>i) << 2)) == best) return i;
  return 0;
}

/** Inserts (v, i) into the descending list of `cnt` entries (capacity k); returns the new count. */
function topk_insert(v: f32, i: i32, cnt: i32, k: i32, out_idx: usize, out_val: usize): i32 {
  let j = cnt < k ? cnt : k - 1;
  while (j > 0 && load<f32>(out_val + ((<usize>(j - 1)) << 2)) < v) {
    store<f32>(out_val + ((<usize>j) << 2), load<f32>(out_val + ((<usize>(j - 1)) << 2)));
    store<i32>(out_idx + ((<usize>j) << 2), load<i32>(out_idx + ((<usize>(j - 1)) << 2)));
    j--;
  }
  store<f32>(out_val + ((<usize>j) << 2), v);
  store<i32>(out_idx + ((<usize>j) << 2), i);
  return cnt < k ? cnt + 1 : cnt;
}

/**
 * Top-k, scalar reference. x: [n]; out_idx: i32 [k]; out_val: f32 [k] (descending).
 * Returns the number of entries written. O(n*k) worst case, O(n) typical; meant for k <= 64.
 */
export function f32_topk__scalar(x: usize, n: i32, k: i32, out_idx: usize, out_val: usize): i32 {
  let cnt = 0;
  if (k <= 0) return 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + ((<usize>i) << 2));
    if (v != v) continue;
    if (cnt < k || v > load<f32>(out_val + ((<usize>(k - 1)) << 2))) {
      cnt = topk_insert(v, i, cnt, k, out_idx, out_val);
    }
  }
  return cnt;
}

/** Top-k, SIMD filter over the scalar insertion. Same signature and result as the scalar reference. */
export function f32_topk__simd(x: usize, n: i32, k: i32, out_idx: usize, out_val: usize): i32 {
  let cnt = 0;
  if (k <= 0) return 0;
  let i = 0;
  for (; i < n && cnt < k; i++) {
    const v = load<f32>(x + ((<usize>i) << 2));
    if (v == v) cnt = topk_insert(v, i, cnt, k, out_idx, out_val);
  }
  const last = out_val + ((<usize>(k - 1)) << 2);
  for (; i + 4 <= n; i += 4) {
    const b = x + ((<usize>i) << 2);
    if (!v128.any_true(f32x4.gt(v128.load(b), v128.load32_splat(last)))) continue;
    for (let l = 0; l < 4; l++) {
      const v = load<f32>(b + ((<usize>l) << 2));
      if (v > load<f32>(last)) cnt = topk_insert(v, i + l, cnt, k, out_idx, out_val);
    }
  }
  for (; i < n; i++) {
    const v = load<f32>(x + ((<usize>i) << 2));
    if (v > load<f32>(last)) cnt = topk_insert(v, i, cnt, k, out_idx, out_val);
  }
  return cnt;
}
