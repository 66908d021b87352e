// Float64 attention reference for test/assembly/attention: masks by explicit token positions (a query
// sees the keys whose original position is <= its own), independently of the kernels' "last mq rows of
// the cache" rule, so a pruned cache checks that the rule is the right causal mask.

export interface AttnShape {
  mq: number;
  hq: number;
  hkv: number;
  d: number;
  cacheLen: number;
  ldQ: number;
  ldKv: number;
  ldO: number;
}

/**
 * out [mq, hq, d] (contiguous) and probs[i][h] = softmax row of query row i, head h over the cache
 * (0 at masked keys). keyPos [cacheLen] and queryPos [mq] are original token positions; null = no mask.
 * keyBias [cacheLen] is added to every score of key j after scaling (null: none).
 */
export function attention64(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  s: AttnShape,
  pos: { keyPos: number[]; queryPos: number[] } | null,
  keyBias: number[] | null = null,
): { out: number[]; probs: number[][][] } {
  const { mq, hq, hkv, d, cacheLen, ldQ, ldKv } = s;
  const group = hq / hkv;
  const scale = 1 / Math.sqrt(d);
  const out: number[] = [];
  const probs: number[][][] = [];
  for (let i = 0; i < mq; i++) {
    probs.push([]);
    for (let h = 0; h < hq; h++) {
      const kh = Math.floor(h / group) * d;
      const sc = Array.from({ length: cacheLen }, (_, j) => {
        if (pos && pos.keyPos[j] > pos.queryPos[i]) return -Infinity;
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q[i * ldQ + h * d + c] * k[j * ldKv + kh + c];
        return dot * scale + (keyBias ? keyBias[j] : 0);
      });
      const mx = Math.max(...sc);
      const e = sc.map((x) => (x === -Infinity ? 0 : Math.exp(x - mx)));
      const sum = e.reduce((a, b) => a + b, 0);
      const p = e.map((x) => (sum > 0 ? x / sum : 0));
      probs[i].push(p);
      for (let c = 0; c < d; c++) {
        let acc = 0;
        for (let j = 0; j < cacheLen; j++) acc += p[j] * v[j * ldKv + kh + c];
        out.push(acc);
      }
    }
  }
  return { out, probs };
}

/** Head mean of probs[i] for each listed query row (zeros for rows outside 0..mq-1). */
export function headMean(probs: number[][][], rows: number[], cacheLen: number): number[] {
  return rows.flatMap((i) => {
    if (i < 0 || i >= probs.length) return new Array<number>(cacheLen).fill(0);
    const heads = probs[i];
    return Array.from({ length: cacheLen }, (_, j) => heads.reduce((a, p) => a + p[j], 0) / heads.length);
  });
}
