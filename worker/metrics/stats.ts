// Percentiles of latency samples and their course over time: what /v1/metrics reports from the rows
// it reads. Pure functions over plain numbers (no storage), tested on their own.

/** p50 / p95 / p99 and the mean of a sample; nulls when it is empty. */
export interface Percentiles {
  count: number;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** The q-quantile (0..1) of ascending `sorted`, linearly interpolated between ranks (numpy's default). */
export function quantile(sorted: ArrayLike<number>, q: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const pos = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

const round = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);

/** Percentiles of `values` (any order; not modified). */
export function percentiles(values: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(values).sort();
  let total = 0;
  for (const v of sorted) total += v;
  return {
    count: sorted.length,
    mean: round(sorted.length ? total / sorted.length : null),
    p50: round(quantile(sorted, 0.5)),
    p95: round(quantile(sorted, 0.95)),
    p99: round(quantile(sorted, 0.99)),
  };
}

/** The latency samples of one request. */
export interface LatencySample {
  ts: number;
  ttft_ms: number;
  itl_ms: number[];
}

/** Percentiles per time bucket: columns of equal length, one entry per bucket. */
export interface LatencySeries {
  /** Bucket start, seconds since the epoch (uPlot's time axis). */
  t: number[];
  requests: number[];
  ttft_p50: (number | null)[];
  ttft_p95: (number | null)[];
  ttft_p99: (number | null)[];
  itl_p50: (number | null)[];
  itl_p95: (number | null)[];
  itl_p99: (number | null)[];
}

/** Splits [from, to] into `buckets` equal spans and reports the percentiles of the samples in each. */
export function latencySeries(
  samples: readonly LatencySample[],
  from: number,
  to: number,
  buckets: number,
): LatencySeries {
  const n = Math.max(1, Math.floor(buckets));
  const span = Math.max(1, to - from) / n;
  const ttft: number[][] = Array.from({ length: n }, () => []);
  const itl: number[][] = Array.from({ length: n }, () => []);
  for (const s of samples) {
    const b = Math.min(n - 1, Math.max(0, Math.floor((s.ts - from) / span)));
    ttft[b].push(s.ttft_ms);
    for (const x of s.itl_ms) itl[b].push(x);
  }
  const out: LatencySeries = {
    t: [],
    requests: [],
    ttft_p50: [],
    ttft_p95: [],
    ttft_p99: [],
    itl_p50: [],
    itl_p95: [],
    itl_p99: [],
  };
  for (let b = 0; b < n; b++) {
    const a = percentiles(ttft[b]);
    const i = percentiles(itl[b]);
    out.t.push((from + b * span) / 1000);
    out.requests.push(a.count);
    out.ttft_p50.push(a.p50);
    out.ttft_p95.push(a.p95);
    out.ttft_p99.push(a.p99);
    out.itl_p50.push(i.p50);
    out.itl_p95.push(i.p95);
    out.itl_p99.push(i.p99);
  }
  return out;
}
