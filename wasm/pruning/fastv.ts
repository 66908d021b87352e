// FastV (Chen et al., ECCV'24): once, at layer K, keep the visual tokens the last prompt token attended
// to most in layer K-1 (head mean), dropping the fraction `ratio` of them. Layers 0..K-1 see every token.
import type { MethodSpec } from "./method";
import type { CapturedAttention, LayerView, PruningPolicy } from "./policy";
import { topK } from "./select";

/** Knobs of `fastv`. */
export interface FastVOptions {
  /** First pruned layer K >= 1 (the scores come from layer K-1); default 2 as in the paper. */
  k?: number;
  /** Fraction of visual tokens dropped, in [0, 1); default 0.5 (the paper's R = 50%). */
  ratio?: number;
}

export class FastVPolicy implements PruningPolicy {
  readonly name = "fastv";
  readonly k: number;
  readonly ratio: number;

  constructor(o: FastVOptions = {}) {
    this.k = o.k ?? 2;
    this.ratio = o.ratio ?? 0.5;
  }

  captureRows(view: LayerView): Int32Array | null {
    return view.layer === this.k - 1 ? Int32Array.of(view.lastRow) : null;
  }

  afterLayer(view: LayerView, a: CapturedAttention | null): Int32Array | null {
    if (view.layer !== this.k - 1 || !a) return null;
    const n = view.visualRows.length;
    const score = Float64Array.from(view.visualRows, (r) => a.probs[r]);
    return topK(view.visualIndex, score, Math.max(1, Math.round(n * (1 - this.ratio))));
  }
}

/** FastV at K layers unpruned and keeping round(N (1 - ratio)) after: the per-layer counts. */
export function fastvCounts(layers: number, n: number, k: number, ratio: number): number[] {
  const kept = Math.max(1, Math.round(n * (1 - ratio)));
  return Array.from({ length: layers }, (_, l) => (l < k ? n : kept));
}

export const fastv: MethodSpec<FastVOptions> = {
  summary: "FastV: once, at layer K, drop the visual tokens the last prompt token attends to least",
  knobs: {
    k: { kind: "integer", min: 1, doc: "first pruned layer (scores from layer K-1)" },
    ratio: { kind: "number", min: 0, below: 1, doc: "fraction of visual tokens dropped" },
  },
  create: (o) => new FastVPolicy(o),
  keep: {
    by: "schedule",
    knobs(keep, { layers, numVisual: n }, base) {
      // the deepest K that still leaves tokens to keep: K full layers cost K / layers of the budget
      const k = Math.max(1, Math.min(base.k ?? 2, Math.ceil(keep * layers) - 1));
      const share = Math.max(0, Math.min(1, (keep * layers - k) / (layers - k)));
      return { ...base, k, ratio: Math.min(1 - 1 / n, 1 - share) };
    },
  },
  describe: (k) => `K ${k.k ?? 2}, R ${(k.ratio ?? 0.5).toFixed(3)}`,
};
