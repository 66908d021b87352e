// Small selection helpers the policies share: top-k by score, a uniform sub-grid of the visual-token
// grid, a seeded random subset, unit rows and cosine similarities. Pure functions over typed arrays; the
// policies decide what to feed them.
import type { LayerView } from "./policy";

/** The `k` entries of `ids` with the highest `score` (ties: lower index first), ascending by id. */
export function topK(ids: Int32Array, score: Float64Array | Float32Array, k: number): Int32Array {
  const n = ids.length;
  const take = Math.max(0, Math.min(n, Math.round(k)));
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[b] - score[a] || a - b);
  return Int32Array.from(order.slice(0, take).map((i) => ids[i])).sort();
}

/**
 * `n` grid indices spread uniformly over a `grid` x `grid` token grid: rows x cols = n as close to square
 * as possible, each point at the centre of its cell (floor((i + 0.5) * grid / rows)).
 */
export function uniformGrid(grid: number, n: number): Int32Array {
  const want = Math.max(1, Math.min(grid * grid, Math.round(n)));
  const rows = Math.max(1, Math.min(grid, Math.round(Math.sqrt(want))));
  const cols = Math.max(1, Math.min(grid, Math.round(want / rows)));
  const out = new Set<number>();
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++)
      out.add(Math.floor(((r + 0.5) * grid) / rows) * grid + Math.floor(((c + 0.5) * grid) / cols));
  return Int32Array.from(out).sort();
}

/** `k` distinct entries of `ids` chosen uniformly at random by `rand`, ascending. */
export function randomSubset(ids: Int32Array, k: number, rand: () => number): Int32Array {
  const a = Array.from(ids);
  const take = Math.max(0, Math.min(a.length, Math.round(k)));
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(rand() * (a.length - i));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return Int32Array.from(a.slice(0, take)).sort();
}

/** The rows `rows` of `x` [*, d] as unit vectors [rows.length, d] (a zero row stays zero). */
export function unitRows(x: Float32Array, d: number, rows: ArrayLike<number>): Float64Array {
  return unitRowsInto(x, d, rows, new Float64Array(rows.length * d));
}

/** unitRows into `out` [rows, d] (a Float32Array rounds each value to f32); returns out. */
export function unitRowsInto<T extends Float32Array | Float64Array>(
  x: Float32Array,
  d: number,
  rows: ArrayLike<number>,
  out: T,
): T {
  for (let i = 0; i < rows.length; i++) {
    const src = rows[i] * d;
    let s = 0;
    for (let c = 0; c < d; c++) s += x[src + c] * x[src + c];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let c = 0; c < d; c++) out[i * d + c] = x[src + c] * inv;
  }
  return out;
}

/** Cosine similarities [n, n] of unit rows u [n, d]. */
export function cosineMatrix(u: Float64Array, n: number, d: number): Float64Array {
  const s = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      let dot = 0;
      for (let c = 0; c < d; c++) dot += u[i * d + c] * u[j * d + c];
      s[i * n + j] = s[j * n + i] = dot;
    }
  return s;
}

/**
 * What a selection over the alive visual tokens starts from: their count n, the hidden width d, the
 * budget k (`tokens`, default a quarter of the image's tokens, at most n) and their unit rows u [n, d].
 */
export function visualUnits(view: LayerView, tokens: number | undefined) {
  const n = view.visualRows.length;
  const h = view.hidden();
  const d = h.length / view.rows;
  const k = Math.min(n, tokens ?? Math.round(view.numVisual / 4));
  return { n, d, k, u: unitRows(h, d, view.visualRows) };
}
