// Attention, SIMD128: the contract of ./scalar.ts (same signature, same masking, same capture), computed
// per (query row, head) in three passes over one row of scores:
//   1. scores: 4 keys at a time, one f32x4 accumulator per key over d (4 dims per step), then a 4x4
//      transpose-add turns the 4 accumulators into the 4 scores at once (no per-key horizontal sum);
//   2. softmax numerator in place: lane max, e = exp(s - mx) on 4 lanes, lane sums;
//   3. out = sum_j e_j v_j: 16 output dims in 4 accumulators, each e_j splatted once per 16 dims, then
//      4-dim blocks, then a scalar tail (any d works; d = 32..64 in practice).
// The capture of head-averaged probabilities is done in pass 3's epilogue, from the same scores row.
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
 * Pass 1: scores[j] = scale * q.k_j (+ bias[j] when bias != 0) for j < nk; returns max_j scores[j].
 * k_j = k + j*ldk4 bytes.
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
): f32 {
  const d4 = d & ~3;
  const vscale = f32x4.splat(scale);
  let vmx = f32x4.splat(-Infinity);
  let j = 0;
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
    vmx = f32x4.max(vmx, s);
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
  let j = 0;
  for (; j + 4 <= nk; j += 4) {
    const o = (<usize>j) << 2;
    const e = exp_f32x4(f32x4.sub(v128.load(scores + o), vm));
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

/** Pass 3: oi[c] = inv * sum_j scores[j] * v_j[c] for c < d. v_j = v + j*ldv4 bytes. */
function pv_pass<M>(oi: usize, v: usize, ldv4: usize, nk: i32, d: i32, scores: usize, inv: f32): void {
  const vinv = f32x4.splat(inv);
  let c = 0;
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
  for (let i = 0; i < mq; i++) {
    let nk = causal != 0 ? cache_len - mq + i + 1 : cache_len;
    if (nk > cache_len) nk = cache_len;
    for (let h = 0; h < hq; h++) {
      const qi = q + ((<usize>i * ld_q + h * d) << 2);
      const oi = out + ((<usize>i * ld_o + h * d) << 2);
      const kvh = (<usize>(h / group) * d) << 2;
      if (nk <= 0) {
        memory.fill(oi, 0, (<usize>d) << 2);
        continue;
      }
      const mx = scores_pass<M>(qi, k + kvh, ldkv4, nk, d, scale, key_bias, scores);
      const inv: f32 = <f32>1 / exp_pass(scores, nk, mx);
      pv_pass<M>(oi, v + kvh, ldkv4, nk, d, scores, inv);
      for (let s = 0; s < cap_count; s++) {
        if (load<i32>(cap_rows + ((<usize>s) << 2)) != i) continue;
        capture_add(cap_out + ((<usize>s * cache_len) << 2), scores, nk, inv, inv_h);
      }
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
