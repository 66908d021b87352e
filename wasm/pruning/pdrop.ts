// PyramidDrop (Xing et al., CVPR'25): the LLM is cut into stages; at the end of each stage the visual
// tokens are ranked by the attention of the last instruction token and the top `lambda` share of those
// alive is kept, so the count shrinks geometrically (x lambda per stage). The paper recomputes that
// attention with the next layer's q/k; here it is the stage's own last layer (the capture this hook
// gives), which is the same thing with the stage boundary one layer later.
import type { CapturedAttention, LayerView, PruningPolicy } from "./policy";
import { topK } from "./select";

/** Knobs of `pdrop`. */
export interface PyramidDropOptions {
  /** Layers (0-based, increasing) after which a stage ends; default [0, 2, 4] (ATP's placement). */
  layers?: number[];
  /** Share of the alive visual tokens kept at each stage end, in (0, 1]; default 0.5 (the paper's). */
  lambda?: number;
}

export class PyramidDropPolicy implements PruningPolicy {
  readonly name = "pdrop";
  readonly layers: number[];
  readonly lambda: number;

  constructor(o: PyramidDropOptions = {}) {
    this.layers = o.layers ?? [0, 2, 4];
    this.lambda = o.lambda ?? 0.5;
    if (!this.layers.every((l, i) => Number.isInteger(l) && l >= 0 && (i === 0 || l > this.layers[i - 1])))
      throw new Error("pdrop: layers must be increasing integers >= 0");
    if (!(this.lambda > 0 && this.lambda <= 1)) throw new Error("pdrop: lambda must be in (0, 1]");
  }

  captureRows(view: LayerView): Int32Array | null {
    return this.layers.includes(view.layer) ? Int32Array.of(view.lastRow) : null;
  }

  afterLayer(view: LayerView, a: CapturedAttention | null): Int32Array | null {
    if (!this.layers.includes(view.layer) || !a) return null;
    const n = view.visualRows.length;
    const score = Float64Array.from(view.visualRows, (r) => a.probs[r]);
    return topK(view.visualIndex, score, Math.max(1, Math.round(n * this.lambda)));
  }
}
