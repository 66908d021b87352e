// Attention, scalar reference: causal (decoder) or full (vision encoder) multi-head / grouped-query
// attention of mq new query rows over a KV cache, with optional capture of head-averaged probabilities.
// The contract (shared with ./simd.ts, which has the same signature):
//   q   [mq, hq, d]        row stride ld_q floats (head h at q + (i*ld_q + h*d))
//   k,v [cache_len, hkv, d] row stride ld_kv floats; query head h reads kv head h / (hq / hkv) (GQA;
//                           hq == hkv is plain MHA). hq must be a multiple of hkv.
//   out [mq, hq, d]        row stride ld_o floats
//   causal != 0: the new rows are the last mq rows of the cache, so query row i sees cache rows
//     0 .. cache_len - mq + i inclusive. This is the right mask even when earlier rows were pruned, since
//     pruning keeps order. A query row that sees no key (mq > cache_len) gets a zero output.
//   causal == 0: every query row sees all cache_len rows (vision encoder: mq == cache_len, hq == hkv).
//   key_bias: 0, or f32 [cache_len] added to every score of key j after scaling (the same for every row
//     and head): log(size_j) gives proportional attention over merged tokens, a key that stands for
//     size_j tokens weighing as size_j copies of itself (docs/method.md, "Merging").
//   scores: caller scratch of 2 * cache_len f32 (two rows of scores: the SIMD kernels take query rows in
//     pairs; this reference uses the first row only).
//   cap_rows: i32 [cap_count] query-row indices, any order; cap_out: f32 [cap_count, cache_len] receives,
//     for each listed row i, mean over heads of softmax(q_i k^T / sqrt(d)), 0 at masked keys. Rows not in
//     0..mq-1 are left all zero. cap_count = 0 disables the capture (pointers then unused).
//   v = 0: the probabilities only (a caller that needs the capture alone, as ATP's probe of layer 0's
//     attention before the layer runs): no weighted sum of values, out is not written.
// Per (row, head): scores = scale * q.k (+ key_bias[j]) (scale = 1/sqrt(d)); mx = max; e = exp(s - mx) (./math.ts);
// out = (sum_j e_j v_j) * (1 / sum e); the capture adds e_j * (1 / sum e) * (1 / hq) in the same pass.
import { exp_f32 } from "../ops/math";

/** Attention over a KV cache (causal or full, MHA or GQA), scalar reference. See the file header. */
export function f32_attention__scalar(
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
  if (cap_count > 0) memory.fill(cap_out, 0, (<usize>cap_count * cache_len) << 2);
  for (let i = 0; i < mq; i++) {
    let nk = causal != 0 ? cache_len - mq + i + 1 : cache_len;
    if (nk > cache_len) nk = cache_len;
    for (let h = 0; h < hq; h++) {
      const qi = q + ((<usize>i * ld_q + h * d) << 2);
      const oi = out + ((<usize>i * ld_o + h * d) << 2);
      const kvh = <usize>(h / group) * d;
      if (nk <= 0) {
        if (v != 0) memory.fill(oi, 0, (<usize>d) << 2);
        continue;
      }
      let mx: f32 = -Infinity;
      for (let j = 0; j < nk; j++) {
        const kj = k + ((<usize>j * ld_kv + kvh) << 2);
        let s: f32 = 0;
        for (let c = 0; c < d; c++)
          s += load<f32>(qi + ((<usize>c) << 2)) * load<f32>(kj + ((<usize>c) << 2));
        s *= scale;
        if (key_bias != 0) s += load<f32>(key_bias + ((<usize>j) << 2));
        store<f32>(scores + ((<usize>j) << 2), s);
        mx = max<f32>(mx, s);
      }
      let sum: f32 = 0;
      for (let j = 0; j < nk; j++) {
        const e = exp_f32(load<f32>(scores + ((<usize>j) << 2)) - mx);
        store<f32>(scores + ((<usize>j) << 2), e);
        sum += e;
      }
      const inv: f32 = <f32>1 / sum;
      for (let c = 0; c < d && v != 0; c++) {
        let acc: f32 = 0;
        for (let j = 0; j < nk; j++) {
          const vj = v + ((<usize>j * ld_kv + kvh + c) << 2);
          acc += load<f32>(scores + ((<usize>j) << 2)) * load<f32>(vj);
        }
        store<f32>(oi + ((<usize>c) << 2), acc * inv);
      }
      for (let s = 0; s < cap_count; s++) {
        if (load<i32>(cap_rows + ((<usize>s) << 2)) != i) continue;
        const row = cap_out + ((<usize>s * cache_len) << 2);
        for (let j = 0; j < nk; j++) {
          const o = (<usize>j) << 2;
          store<f32>(row + o, load<f32>(row + o) + load<f32>(scores + o) * inv * inv_h);
        }
      }
    }
  }
}
