// Selection over an f32 vector for the sampler: argmax and top-k.
// Rules shared by all variants (so every variant returns the same answer, bit for bit):
//   - ties go to the lowest index; -0 and +0 are equal;
//   - NaN entries are ignored (never selected);
//   - argmax of an empty or all-NaN vector is 0;
//   - top-k returns values in descending order (ties: lower index first) and the count written,
//     min(k, number of non-NaN entries).
// SIMD argmax keeps a running max and its index per lane (strict >, so each lane keeps its earliest
// index), then reduces the 4 lanes with the same tie rule. SIMD top-k is the scalar insertion algorithm
// with a 4-wide filter: once k entries are held, a block of 4 is skipped unless one beats the k-th value.
// Requires: SIMD128 for the __simd variants.

/** Argmax, scalar reference. x: [n]. Returns the index of the largest value (lowest on ties). */
export function f32_argmax__scalar(x: usize, n: i32): i32 {
  let best: f32 = -Infinity;
  let idx = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    if (v > best) {
      best = v;
      idx = i;
    }
  }
  return idx;
}

/** Argmax, SIMD. Same signature and result as the scalar reference. */
export function f32_argmax__simd(x: usize, n: i32): i32 {
  let vbest = f32x4.splat(-Infinity);
  let vidx = i32x4.splat(0);
  let cur = i32x4(0, 1, 2, 3);
  const four = i32x4.splat(4);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const gt = f32x4.gt(v, vbest);
    vbest = v128.bitselect(v, vbest, gt);
    vidx = v128.bitselect(cur, vidx, gt);
    cur = i32x4.add(cur, four);
  }
  // Lane reduction, same tie rule. A lane that never updated holds (-inf, 0), which is what the scalar
  // loop starts from, so it changes nothing.
  let best = f32x4.extract_lane(vbest, 0);
  let idx = i32x4.extract_lane(vidx, 0);
  let v = f32x4.extract_lane(vbest, 1);
  let j = i32x4.extract_lane(vidx, 1);
  if (v > best || (v == best && j < idx)) {
    best = v;
    idx = j;
  }
  v = f32x4.extract_lane(vbest, 2);
  j = i32x4.extract_lane(vidx, 2);
  if (v > best || (v == best && j < idx)) {
    best = v;
    idx = j;
  }
  v = f32x4.extract_lane(vbest, 3);
  j = i32x4.extract_lane(vidx, 3);
  if (v > best || (v == best && j < idx)) {
    best = v;
    idx = j;
  }
  for (; i < n; i++) {
    v = load<f32>(x + (<usize>i << 2));
    if (v > best) {
      best = v;
      idx = i;
    }
  }
  return idx;
}

/** Inserts (v, i) into the descending list of `cnt` entries (capacity k); returns the new count. */
// @ts-ignore: decorator
@inline
function topk_insert(v: f32, i: i32, cnt: i32, k: i32, out_idx: usize, out_val: usize): i32 {
  let j = cnt < k ? cnt : k - 1;
  while (j > 0 && load<f32>(out_val + (<usize>(j - 1) << 2)) < v) {
    store<f32>(out_val + (<usize>j << 2), load<f32>(out_val + (<usize>(j - 1) << 2)));
    store<i32>(out_idx + (<usize>j << 2), load<i32>(out_idx + (<usize>(j - 1) << 2)));
    j--;
  }
  store<f32>(out_val + (<usize>j << 2), v);
  store<i32>(out_idx + (<usize>j << 2), i);
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
    const v = load<f32>(x + (<usize>i << 2));
    if (v != v) continue;
    if (cnt < k || v > load<f32>(out_val + (<usize>(k - 1) << 2))) {
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
    const v = load<f32>(x + (<usize>i << 2));
    if (v == v) cnt = topk_insert(v, i, cnt, k, out_idx, out_val);
  }
  const last = out_val + (<usize>(k - 1) << 2);
  for (; i + 4 <= n; i += 4) {
    const b = x + (<usize>i << 2);
    if (!v128.any_true(f32x4.gt(v128.load(b), v128.load32_splat(last)))) continue;
    for (let l = 0; l < 4; l++) {
      const v = load<f32>(b + (<usize>l << 2));
      if (v > load<f32>(last)) cnt = topk_insert(v, i + l, cnt, k, out_idx, out_val);
    }
  }
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    if (v > load<f32>(last)) cnt = topk_insert(v, i, cnt, k, out_idx, out_val);
  }
  return cnt;
}
