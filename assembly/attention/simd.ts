// Attention, SIMD128: the contract of ./scalar.ts (same signature, same masking, same capture), computed
// per (query row, head) in three passes over one row of scores:
//   1. scores: 4 keys at a time, one f32x4 accumulator per key over d (4 dims per step), then a 4x4
//      transpose-add turns the 4 accumulators into the 4 scores at once (no per-key horizontal sum);
//   2. softmax numerator in place: lane max, e = exp(s - mx) on 4 lanes, lane sums;
//   3. out = sum_j e_j v_j: 16 output dims in 4 accumulators, each e_j splatted once per 16 dims, then
//      4-dim blocks, then a scalar tail (any d works; d = 32..64 in practice).
// Query rows go two at a time (scores_pair, pv_pair): each key and value vector is loaded once for both
// rows, for the keys both see; each row then finishes its own keys and its d % 16 columns with the one-row
// passes. Per row the arithmetic and its order are those of the one-row path, so a row's result does not
// depend on whether it was paired (an odd last row, or a row that sees no key, takes the one-row path).
// The second row's scores go to scores + cache_len (the scratch holds two rows).
// The capture of head-averaged probabilities is done in pass 3's epilogue, from the same scores row; when
// cap_rows is ascending (as the engine passes it) one cursor finds each row's slots, else a scan per row.
// With v = 0 (the contract's probabilities-only call) pass 3 is skipped.
// Differs from the scalar reference only in summation order (dot products, sum of e, sum over keys).
// f32_attention__relaxed is the same code with every multiply-accumulate as f32x4.relaxed_madd (fused
// on CPUs with FMA: ~1.2-1.35x faster measured in Node, and not bit-identical to __simd).
// Requires: SIMD128 (__simd), relaxed SIMD (__relaxed).
import { exp_f32, exp_f32x4, hmax_f32x4, hsum4_f32x4, hsum_f32x4 } from "../ops/math";

/** Type-level switch of the shared passes: `Fused` multiply-accumulates with f32x4.relaxed_madd. */
class Fused {}
/** Type-level switch of the shared passes: `Exact` multiplies, then adds (IEEE, no fusion). */
class Exact {}

/** a*b + c; resolved per instantiation at compile time (no run-time branch). */
function madd<M>(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    if (idof<M>() == idof<Fused>()) return f32x4.relaxed_madd(a, b, c);
  }
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * Pass 1: scores[j] = scale * q.k_j (+ bias[j] when bias != 0) for from <= j < nk; returns the max of
 * those scores and mx0. k_j = k + j*ldk4 bytes. `from` is a multiple of 4 (0, or where scores_pair stopped).
 */
function scores_pass<M>(
  qi: usize,
  k: usize,
  ldk4: usize,
  nk: i32,
  d: i32,
  scale: f32,
  bias: usize,
  scores: usize,
  from: i32 = 0,
  mx0: f32 = -Infinity,
): f32 {
  const d4 = d & ~3;
  const vscale = f32x4.splat(scale);
  let vmx = f32x4.splat(mx0);
  let j = from;
  for (; j + 4 <= nk; j += 4) {
    const k0 = k + <usize>j * ldk4;
    const k1 = k0 + ldk4;
    const k2 = k1 + ldk4;
    const k3 = k2 + ldk4;
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    for (let c = 0; c < d4; c += 4) {
      const o = (<usize>c) << 2;
      const qv = v128.load(qi + o);
      a0 = madd<M>(qv, v128.load(k0 + o), a0);
      a1 = madd<M>(qv, v128.load(k1 + o), a1);
      a2 = madd<M>(qv, v128.load(k2 + o), a2);
      a3 = madd<M>(qv, v128.load(k3 + o), a3);
    }
    let s = hsum4_f32x4(a0, a1, a2, a3);
    for (let c = d4; c < d; c++) {
      const o = (<usize>c) << 2;
      const qc = f32x4.splat(load<f32>(qi + o));
      const kc = f32x4(load<f32>(k0 + o), load<f32>(k1 + o), load<f32>(k2 + o), load<f32>(k3 + o));
      s = madd<M>(qc, kc, s);
    }
    s = f32x4.mul(s, vscale);
    if (bias != 0) s = f32x4.add(s, v128.load(bias + ((<usize>j) << 2)));
    v128.store(scores + ((<usize>j) << 2), s);
    vmx = f32x4.pmax(vmx, s);
  }
  let mx = hmax_f32x4(vmx);
  for (; j < nk; j++) {
    const kj = k + <usize>j * ldk4;
    let a = f32x4.splat(0);
    for (let c = 0; c < d4; c += 4) {
      const o = (<usize>c) << 2;
      a = madd<M>(v128.load(qi + o), v128.load(kj + o), a);
    }
    let s = hsum_f32x4(a);
    for (let c = d4; c < d; c++) s += load<f32>(qi + ((<usize>c) << 2)) * load<f32>(kj + ((<usize>c) << 2));
    s *= scale;
    if (bias != 0) s += load<f32>(bias + ((<usize>j) << 2));
    store<f32>(scores + ((<usize>j) << 2), s);
    mx = max<f32>(mx, s);
  }
  return mx;
}

/** Pass 2: scores[j] = exp(scores[j] - mx) for j < nk; returns their sum. */
function exp_pass(scores: usize, nk: i32, mx: f32): f32 {
  const vm = f32x4.splat(mx);
  let acc = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let j = 0;
  // two vectors per step: independent exp chains overlap (V8 leaves the one-vector loop latency-bound)
  for (; j + 8 <= nk; j += 8) {
    const o = (<usize>j) << 2;
    const e0 = inline.always(exp_f32x4(f32x4.sub(v128.load(scores + o), vm)));
    const e1 = inline.always(exp_f32x4(f32x4.sub(v128.load(scores + o, 16), vm)));
    v128.store(scores + o, e0);
    v128.store(scores + o, e1, 16);
    acc = f32x4.add(acc, e0);
    acc1 = f32x4.add(acc1, e1);
  }
  acc = f32x4.add(acc, acc1);
  for (; j + 4 <= nk; j += 4) {
    const o = (<usize>j) << 2;
    const e = inline.always(exp_f32x4(f32x4.sub(v128.load(scores + o), vm)));
    v128.store(scores + o, e);
    acc = f32x4.add(acc, e);
  }
  let sum = hsum_f32x4(acc);
  for (; j < nk; j++) {
    const o = (<usize>j) << 2;
    const e = exp_f32(load<f32>(scores + o) - mx);
    store<f32>(scores + o, e);
    sum += e;
  }
  return sum;
}

/** Pass 3: oi[c] = inv * sum_j scores[j] * v_j[c] for c0 <= c < d. v_j = v + j*ldv4 bytes. */
function pv_pass<M>(
  oi: usize,
  v: usize,
  ldv4: usize,
  nk: i32,
  d: i32,
  scores: usize,
  inv: f32,
  c0: i32 = 0,
): void {
  const vinv = f32x4.splat(inv);
  let c = c0;
  for (; c + 16 <= d; c += 16) {
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let vj = v + ((<usize>c) << 2);
    for (let j = 0; j < nk; j++) {
      const p = v128.load32_splat(scores + ((<usize>j) << 2));
      a0 = madd<M>(p, v128.load(vj), a0);
      a1 = madd<M>(p, v128.load(vj, 16), a1);
      a2 = madd<M>(p, v128.load(vj, 32), a2);
      a3 = madd<M>(p, v128.load(vj, 48), a3);
      vj += ldv4;
    }
    const o = oi + ((<usize>c) << 2);
    v128.store(o, f32x4.mul(a0, vinv));
    v128.store(o, f32x4.mul(a1, vinv), 16);
    v128.store(o, f32x4.mul(a2, vinv), 32);
    v128.store(o, f32x4.mul(a3, vinv), 48);
  }
  for (; c + 4 <= d; c += 4) {
    let a = f32x4.splat(0);
    let vj = v + ((<usize>c) << 2);
    for (let j = 0; j < nk; j++) {
      a = madd<M>(v128.load32_splat(scores + ((<usize>j) << 2)), v128.load(vj), a);
      vj += ldv4;
    }
    v128.store(oi + ((<usize>c) << 2), f32x4.mul(a, vinv));
  }
  for (; c < d; c++) {
    let a: f32 = 0;
    for (let j = 0; j < nk; j++) {
      a += load<f32>(scores + ((<usize>j) << 2)) * load<f32>(v + <usize>j * ldv4 + ((<usize>c) << 2));
    }
    store<f32>(oi + ((<usize>c) << 2), a * inv);
  }
}

/** Row 1's running max from scores_pair (the pass returns row 0's). */
let pair_mx1: f32 = -Infinity;

/**
 * Pass 1 for two query rows of one head, keys 0 <= j < j4 (j4 a multiple of 4): the same per-row
 * arithmetic as scores_pass (4 keys, one accumulator per key over d, transpose-add), each key vector
 * loaded once for both rows. Returns row 0's max; row 1's is left in pair_mx1. d % 4 dims as scores_pass.
 */
function scores_pair<M>(
  q0: usize,
  q1: usize,
  k: usize,
  ldk4: usize,
  j4: i32,
  d: i32,
  scale: f32,
  bias: usize,
  s0: usize,
  s1: usize,
): f32 {
  const d4 = d & ~3;
  const vscale = f32x4.splat(scale);
  let vmx0 = f32x4.splat(-Infinity);
  let vmx1 = f32x4.splat(-Infinity);
  for (let j = 0; j < j4; j += 4) {
    const k0 = k + <usize>j * ldk4;
    const k1 = k0 + ldk4;
    const k2 = k1 + ldk4;
    const k3 = k2 + ldk4;
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0);
    let b1 = f32x4.splat(0);
    let b2 = f32x4.splat(0);
    let b3 = f32x4.splat(0);
    for (let c = 0; c < d4; c += 4) {
      const o = (<usize>c) << 2;
      const qa = v128.load(q0 + o);
      const qb = v128.load(q1 + o);
      const kv0 = v128.load(k0 + o);
      a0 = madd<M>(qa, kv0, a0);
      b0 = madd<M>(qb, kv0, b0);
      const kv1 = v128.load(k1 + o);
      a1 = madd<M>(qa, kv1, a1);
      b1 = madd<M>(qb, kv1, b1);
      const kv2 = v128.load(k2 + o);
      a2 = madd<M>(qa, kv2, a2);
      b2 = madd<M>(qb, kv2, b2);
      const kv3 = v128.load(k3 + o);
      a3 = madd<M>(qa, kv3, a3);
      b3 = madd<M>(qb, kv3, b3);
    }
    let sa = hsum4_f32x4(a0, a1, a2, a3);
    let sb = hsum4_f32x4(b0, b1, b2, b3);
    for (let c = d4; c < d; c++) {
      const o = (<usize>c) << 2;
      const kc = f32x4(load<f32>(k0 + o), load<f32>(k1 + o), load<f32>(k2 + o), load<f32>(k3 + o));
      sa = madd<M>(f32x4.splat(load<f32>(q0 + o)), kc, sa);
      sb = madd<M>(f32x4.splat(load<f32>(q1 + o)), kc, sb);
    }
    sa = f32x4.mul(sa, vscale);
    sb = f32x4.mul(sb, vscale);
    if (bias != 0) {
      const bv = v128.load(bias + ((<usize>j) << 2));
      sa = f32x4.add(sa, bv);
      sb = f32x4.add(sb, bv);
    }
    v128.store(s0 + ((<usize>j) << 2), sa);
    v128.store(s1 + ((<usize>j) << 2), sb);
    vmx0 = f32x4.pmax(vmx0, sa);
    vmx1 = f32x4.pmax(vmx1, sb);
  }
  pair_mx1 = hmax_f32x4(vmx1);
  return hmax_f32x4(vmx0);
}

/**
 * Pass 3 for two query rows of one head, for the 16-dim blocks of d: row 0 over keys j < nk0, row 1 over
 * j < nk1 (nk0 <= nk1), each v block loaded once for both rows over the shared keys. Per row the same
 * sums in the same order as pv_pass, which finishes the d % 16 columns (its c0).
 */
function pv_pair<M>(
  o0: usize,
  o1: usize,
  v: usize,
  ldv4: usize,
  nk0: i32,
  nk1: i32,
  d: i32,
  s0: usize,
  s1: usize,
  inv0: f32,
  inv1: f32,
): void {
  const vinv0 = f32x4.splat(inv0);
  const vinv1 = f32x4.splat(inv1);
  for (let c = 0; c + 16 <= d; c += 16) {
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0);
    let b1 = f32x4.splat(0);
    let b2 = f32x4.splat(0);
    let b3 = f32x4.splat(0);
    let vj = v + ((<usize>c) << 2);
    let j = 0;
    for (; j < nk0; j++) {
      const o = (<usize>j) << 2;
      const pa = v128.load32_splat(s0 + o);
      const pb = v128.load32_splat(s1 + o);
      const v0 = v128.load(vj);
      a0 = madd<M>(pa, v0, a0);
      b0 = madd<M>(pb, v0, b0);
      const v1 = v128.load(vj, 16);
      a1 = madd<M>(pa, v1, a1);
      b1 = madd<M>(pb, v1, b1);
      const v2 = v128.load(vj, 32);
      a2 = madd<M>(pa, v2, a2);
      b2 = madd<M>(pb, v2, b2);
      const v3 = v128.load(vj, 48);
      a3 = madd<M>(pa, v3, a3);
      b3 = madd<M>(pb, v3, b3);
      vj += ldv4;
    }
    for (; j < nk1; j++) {
      const pb = v128.load32_splat(s1 + ((<usize>j) << 2));
      b0 = madd<M>(pb, v128.load(vj), b0);
      b1 = madd<M>(pb, v128.load(vj, 16), b1);
      b2 = madd<M>(pb, v128.load(vj, 32), b2);
      b3 = madd<M>(pb, v128.load(vj, 48), b3);
      vj += ldv4;
    }
    const oa = o0 + ((<usize>c) << 2);
    v128.store(oa, f32x4.mul(a0, vinv0));
    v128.store(oa, f32x4.mul(a1, vinv0), 16);
    v128.store(oa, f32x4.mul(a2, vinv0), 32);
    v128.store(oa, f32x4.mul(a3, vinv0), 48);
    const ob = o1 + ((<usize>c) << 2);
    v128.store(ob, f32x4.mul(b0, vinv1));
    v128.store(ob, f32x4.mul(b1, vinv1), 16);
    v128.store(ob, f32x4.mul(b2, vinv1), 32);
    v128.store(ob, f32x4.mul(b3, vinv1), 48);
  }
}

/** Adds w * scores[j] to row[j] for j < nk (head-averaged probability capture). */
function capture_add(row: usize, scores: usize, nk: i32, inv: f32, inv_h: f32): void {
  const vinv = f32x4.splat(inv);
  const vh = f32x4.splat(inv_h);
  let j = 0;
  for (; j + 4 <= nk; j += 4) {
    const o = (<usize>j) << 2;
    const p = f32x4.mul(f32x4.mul(v128.load(scores + o), vinv), vh);
    v128.store(row + o, f32x4.add(v128.load(row + o), p));
  }
  for (; j < nk; j++) {
    const o = (<usize>j) << 2;
    store<f32>(row + o, load<f32>(row + o) + load<f32>(scores + o) * inv * inv_h);
  }
}

/** Cache rows query row i sees (the contract's mask; <= 0 when it sees none). */
function keys_seen(i: i32, mq: i32, cache_len: i32, causal: i32): i32 {
  return causal != 0 ? min(cache_len - mq + i + 1, cache_len) : cache_len;
}

/** True when cap_rows [n] is ascending (the engine's order): the capture then walks it with a cursor. */
function ascending(cap_rows: usize, n: i32): bool {
  for (let s = 1; s < n; s++) {
    if (load<i32>(cap_rows + ((<usize>s) << 2)) < load<i32>(cap_rows + ((<usize>(s - 1)) << 2))) return false;
  }
  return true;
}

/** First capture slot at or after `from` whose row is >= i (ascending cap_rows). */
function slot_from(cap_rows: usize, n: i32, from: i32, i: i32): i32 {
  let s = from;
  while (s < n && load<i32>(cap_rows + ((<usize>s) << 2)) < i) s++;
  return s;
}

/**
 * Adds row i's probabilities (scores row, 1 / sum e = inv) to every capture slot of row i: slots
 * lo <= s < hi when the rows are ascending (lo = -1: not), else every slot that lists i.
 */
function capture_row(
  i: i32,
  lo: i32,
  hi: i32,
  cap_rows: usize,
  cap_count: i32,
  cap_out: usize,
  cache_len: i32,
  scores: usize,
  nk: i32,
  inv: f32,
  inv_h: f32,
): void {
  if (lo >= 0) {
    for (let s = lo; s < hi; s++)
      capture_add(cap_out + ((<usize>s * cache_len) << 2), scores, nk, inv, inv_h);
    return;
  }
  for (let s = 0; s < cap_count; s++) {
    if (load<i32>(cap_rows + ((<usize>s) << 2)) != i) continue;
    capture_add(cap_out + ((<usize>s * cache_len) << 2), scores, nk, inv, inv_h);
  }
}

/** The kernel body, instantiated for __simd (Exact) and __relaxed (Fused). */
function attention<M>(
  q: usize,
  ld_q: i32,
  k: usize,
  v: usize,
  ld_kv: i32,
  out: usize,
  ld_o: i32,
  mq: i32,
  hq: i32,
  hkv: i32,
  d: i32,
  cache_len: i32,
  causal: i32,
  key_bias: usize,
  scores: usize,
  cap_rows: usize,
  cap_count: i32,
  cap_out: usize,
): void {
  const group = hq / hkv;
  const scale: f32 = <f32>1 / Mathf.sqrt(<f32>d);
  const inv_h: f32 = <f32>1 / <f32>hq;
  const ldkv4 = (<usize>ld_kv) << 2;
  if (cap_count > 0) memory.fill(cap_out, 0, (<usize>cap_count * cache_len) << 2);
  const sorted = cap_count > 0 && ascending(cap_rows, cap_count);
  let cursor = 0;
  const s1 = scores + ((<usize>cache_len) << 2); // row 1's scores in the pair path
  const d16 = d & ~15;
  let i = 0;
  // rows two at a time: each key and value vector is loaded once for both (the loads, not the
  // multiply-adds, bound the one-row passes); per row the arithmetic is that of the one-row path
  for (; i + 2 <= mq; i += 2) {
    const nk0 = keys_seen(i, mq, cache_len, causal);
    const nk1 = keys_seen(i + 1, mq, cache_len, causal);
    if (nk0 <= 0) break; // rows that see no key: the one-row path below zeroes them
    const j4 = nk0 & ~3;
    // capture slots of rows i and i + 1: [lo0, lo1) and [lo1, cursor) (one cursor over ascending rows
    // instead of a scan per head)
    let lo0 = -1;
    let lo1 = -1;
    if (sorted) {
      lo0 = slot_from(cap_rows, cap_count, cursor, i);
      lo1 = slot_from(cap_rows, cap_count, lo0, i + 1);
      cursor = slot_from(cap_rows, cap_count, lo1, i + 2);
    }
    const hi1 = cursor;
    for (let h = 0; h < hq; h++) {
      const q0 = q + ((<usize>i * ld_q + h * d) << 2);
      const q1 = q0 + ((<usize>ld_q) << 2);
      const o0 = out + ((<usize>i * ld_o + h * d) << 2);
      const o1 = o0 + ((<usize>ld_o) << 2);
      const kh = k + ((<usize>(h / group) * d) << 2);
      const vh = v + ((<usize>(h / group) * d) << 2);
      let mx0 = scores_pair<M>(q0, q1, kh, ldkv4, j4, d, scale, key_bias, scores, s1);
      mx0 = scores_pass<M>(q0, kh, ldkv4, nk0, d, scale, key_bias, scores, j4, mx0);
      const mx1 = scores_pass<M>(q1, kh, ldkv4, nk1, d, scale, key_bias, s1, j4, pair_mx1);
      const inv0: f32 = <f32>1 / exp_pass(scores, nk0, mx0);
      const inv1: f32 = <f32>1 / exp_pass(s1, nk1, mx1);
      if (v != 0) {
        pv_pair<M>(o0, o1, vh, ldkv4, nk0, nk1, d, scores, s1, inv0, inv1);
        if (d16 < d) {
          pv_pass<M>(o0, vh, ldkv4, nk0, d, scores, inv0, d16);
          pv_pass<M>(o1, vh, ldkv4, nk1, d, s1, inv1, d16);
        }
      }
      if (cap_count > 0) {
        capture_row(i, lo0, lo1, cap_rows, cap_count, cap_out, cache_len, scores, nk0, inv0, inv_h);
        capture_row(i + 1, lo1, hi1, cap_rows, cap_count, cap_out, cache_len, s1, nk1, inv1, inv_h);
      }
    }
  }
  for (; i < mq; i++) {
    const nk = keys_seen(i, mq, cache_len, causal);
    let lo = -1;
    if (sorted) {
      lo = slot_from(cap_rows, cap_count, cursor, i);
      cursor = slot_from(cap_rows, cap_count, lo, i + 1);
    }
    const hi = cursor;
    for (let h = 0; h < hq; h++) {
      const qi = q + ((<usize>i * ld_q + h * d) << 2);
      const oi = out + ((<usize>i * ld_o + h * d) << 2);
      const kvh = (<usize>(h / group) * d) << 2;
      if (nk <= 0) {
        if (v != 0) memory.fill(oi, 0, (<usize>d) << 2);
        continue;
      }
      const mx = scores_pass<M>(qi, k + kvh, ldkv4, nk, d, scale, key_bias, scores);
      const inv: f32 = <f32>1 / exp_pass(scores, nk, mx);
      if (v != 0) pv_pass<M>(oi, v + kvh, ldkv4, nk, d, scores, inv);
      if (cap_count > 0)
        capture_row(i, lo, hi, cap_rows, cap_count, cap_out, cache_len, scores, nk, inv, inv_h);
    }
  }
}

/** Attention over a KV cache (causal or full, MHA or GQA), SIMD128. Contract: ./scalar.ts. */
export function f32_attention__simd(
  q: usize,
  ld_q: i32,
  k: usize,
  v: usize,
  ld_kv: i32,
  out: usize,
  ld_o: i32,
  mq: i32,
  hq: i32,
  hkv: i32,
  d: i32,
  cache_len: i32,
  causal: i32,
  key_bias: usize,
  scores: usize,
  cap_rows: usize,
  cap_count: i32,
  cap_out: usize,
): void {
  attention<Exact>(
    q,
    ld_q,
    k,
    v,
    ld_kv,
    out,
    ld_o,
    mq,
    hq,
    hkv,
    d,
    cache_len,
    causal,
    key_bias,
    scores,
    cap_rows,
    cap_count,
    cap_out,
  );
}

/**
 * Same, with the dot products and the weighted sum of values as f32x4.relaxed_madd (fused multiply-add
 * where the CPU has it, so results may differ from __simd in the last bits). Traps in the `simd` build.
 */
export function f32_attention__relaxed(
  q: usize,
  ld_q: i32,
  k: usize,
  v: usize,
  ld_kv: i32,
  out: usize,
  ld_o: i32,
  mq: i32,
  hq: i32,
  hkv: i32,
  d: i32,
  cache_len: i32,
  causal: i32,
  key_bias: usize,
  scores: usize,
  cap_rows: usize,
  cap_count: i32,
  cap_out: usize,
): void {
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  attention<Fused>(
    q,
    ld_q,
    k,
    v,
    ld_kv,
    out,
    ld_o,
    mq,
    hq,
    hkv,
    d,
    cache_len,
    causal,
    key_bias,
    scores,
    cap_rows,
    cap_count,
    cap_out,
  );
}
