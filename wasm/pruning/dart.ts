// DART (Wen et al., 2025, "duplication matters more"): at a shallow LLM layer K, a few pivot tokens are
// picked (the visual and the instruction tokens of largest norm) and each pivot claims the visual tokens
// least duplicated with it (lowest cosine similarity of hidden states) until the budget is spent; the
// kept set is the visual pivots plus the claimed tokens, the rest leave before layer K. As in the
// paper's code the hidden states are taken after the final RMSNorm. Adapted to the engine's hook: the
// paper ranks pivots by the L1 norm of layer K-1's key states, which the decoder does not expose to
// policies; here they rank by the L1 norm of the normed hidden states (the variant the paper also
// reports). Layers 0..K-1 see every token.
import type { MethodSpec } from "./method";
import type { LayerView, PolicyContext, PruningPolicy } from "./policy";
import { unitRows } from "./select";

/** Knobs of `dart`. */
export interface DartOptions {
  /** First pruned layer K >= 1 (the states come from layer K-1); default 2 as in the paper. */
  layer?: number;
  /** Visual tokens kept from layer K on; default a quarter of the image's. */
  tokens?: number;
  /** Visual and instruction pivots; default 4 and 4 (the paper's LLaVA setting). */
  pivots?: number;
  text_pivots?: number;
}

/** The `count` entries of `rows` with the largest L1 norm of their row of x [*, d] (ties: lower first). */
function byL1(x: Float32Array, d: number, rows: ArrayLike<number>, count: number): number[] {
  const norm = Array.from(rows, (r) => {
    let s = 0;
    for (let c = 0; c < d; c++) s += Math.abs(x[r * d + c]);
    return s;
  });
  return Array.from(rows, (_, i) => i)
    .sort((a, b) => norm[b] - norm[a] || a - b)
    .slice(0, Math.max(0, count));
}

/**
 * DART's selection over hidden states x [rows, d] (already normed): `k` of the visual rows `vis`, with
 * `p` visual and `q` instruction (`txt`) pivots. Returns indices into `vis`.
 */
export function dartSelect(
  x: Float32Array,
  d: number,
  vis: Int32Array,
  txt: Int32Array,
  k: number,
  p: number,
  q: number,
): number[] {
  const n = vis.length;
  const budget = Math.max(1, Math.min(n, k));
  const visualPivots = byL1(x, d, vis, Math.min(p, budget));
  const textPivots = byL1(x, d, txt, q).map((i) => txt[i]);
  const kept = new Set(visualPivots);
  const u = unitRows(x, d, vis);
  const pivotRows = [...visualPivots.map((i) => vis[i]), ...textPivots];
  const pu = unitRows(x, d, pivotRows);
  // each pivot claims, in turn, its least similar free visual token until the budget is met
  const order = pivotRows.map((_, pi) => {
    const sim = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) sim[i] += pu[pi * d + c] * u[i * d + c];
    return Array.from({ length: n }, (_, i) => i).sort((a, b) => sim[a] - sim[b] || a - b);
  });
  const next = new Int32Array(pivotRows.length);
  for (let pi = 0; kept.size < budget && pivotRows.length > 0; pi = (pi + 1) % pivotRows.length) {
    const list = order[pi];
    while (next[pi] < n && kept.has(list[next[pi]])) next[pi]++;
    if (next[pi] < n) kept.add(list[next[pi]++]);
  }
  return [...kept];
}

export class DartPolicy implements PruningPolicy {
  readonly name = "dart";
  readonly layer: number;
  private normW: Float32Array = new Float32Array(0);
  private eps = 0;
  constructor(readonly options: DartOptions = {}) {
    this.layer = options.layer ?? 2;
  }

  begin(ctx: PolicyContext): void {
    this.normW = ctx.tensor("llm.norm.weight", ctx.config.text.hidden);
    this.eps = ctx.config.text.rmsNormEps;
  }
  captureRows(): null {
    return null;
  }
  afterLayer(view: LayerView): Int32Array | null {
    if (view.layer !== this.layer - 1) return null;
    const x = view.hidden();
    const d = this.normW.length;
    for (let r = 0; r < view.rows; r++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += x[r * d + c] * x[r * d + c];
      const inv = 1 / Math.sqrt(s / d + this.eps);
      for (let c = 0; c < d; c++) x[r * d + c] *= inv * this.normW[c];
    }
    const o = this.options;
    const k = o.tokens ?? Math.round(view.numVisual / 4);
    const picks = dartSelect(x, d, view.visualRows, view.textRows, k, o.pivots ?? 4, o.text_pivots ?? 4);
    return Int32Array.from(picks, (i) => view.visualIndex[i]).sort();
  }
}

export const dart: MethodSpec<DartOptions> = {
  summary:
    "DART: at layer K, pivots claim the visual tokens least duplicated with them (cosine of hidden states)",
  knobs: {
    layer: { kind: "integer", min: 1, doc: "first pruned layer K (states of layer K-1)" },
    tokens: { kind: "integer", min: 1, doc: "visual tokens kept from layer K on" },
    pivots: { kind: "integer", min: 1, doc: "visual pivot tokens" },
    text_pivots: { kind: "integer", min: 0, doc: "instruction pivot tokens" },
  },
  create: (o) => new DartPolicy(o),
  keep: {
    by: "schedule",
    knobs(keep, { layers, numVisual: n }, base) {
      // K full layers, then t tokens: mean = (K + (L - K) t / N) / L; the deepest K <= 2 that fits
      const k = Math.max(1, Math.min(base.layer ?? 2, Math.ceil(keep * layers) - 1));
      const t = Math.round(((keep * layers - k) * n) / (layers - k));
      return { ...base, layer: k, tokens: Math.max(1, Math.min(n, t)) };
    },
  },
  describe: (k) =>
    `K ${k.layer ?? 2}, ${k.tokens ?? "N/4"} tokens, ${k.pivots ?? 4}+${k.text_pivots ?? 4} pivots`,
};
