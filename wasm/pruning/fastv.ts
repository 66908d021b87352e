// FastV (Chen et al., ECCV'24): once, at layer K, keep the visual tokens the last prompt token attended
// to most in layer K-1 (head mean), dropping the fraction `ratio` of them. Layers 0..K-1 see every token.
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
    if (!Number.isInteger(this.k) || this.k < 1) throw new Error("fastv: k must be an integer >= 1");
    if (!(this.ratio >= 0 && this.ratio < 1)) throw new Error("fastv: ratio must be in [0, 1)");
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
