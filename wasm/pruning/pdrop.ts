// PyramidDrop (Xing et al., CVPR'25): the LLM is cut into stages; at the end of each stage the visual
// tokens are ranked by the attention of the last instruction token and the top `lambda` share of those
// alive is kept, so the count shrinks geometrically (x lambda per stage). The paper recomputes that
// attention with the next layer's q/k; here it is the stage's own last layer (the capture this hook
// gives), which is the same thing with the stage boundary one layer later.
import { meanFraction, type MethodSpec } from "./method";
import type { CapturedAttention, LayerView, PruningPolicy } from "./policy";
import { topK } from "./select";

/** Stage ends by default: ATP's module placement. */
const DEFAULT_STAGES = [0, 2, 4];

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
    this.layers = o.layers ?? DEFAULT_STAGES;
    this.lambda = o.lambda ?? 0.5;
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

/** PyramidDrop's per-layer counts for stage ends `stages` and share `lambda`. */
export function pdropCounts(layers: number, n: number, stages: number[], lambda: number): number[] {
  const out: number[] = [];
  let alive = n;
  for (let l = 0; l < layers; l++) {
    out.push(alive);
    if (stages.includes(l)) alive = Math.max(1, Math.round(alive * lambda));
  }
  return out;
}

export const pdrop: MethodSpec<PyramidDropOptions> = {
  summary: "PyramidDrop: at each stage end keep the share lambda the last instruction token attends to most",
  knobs: {
    layers: {
      kind: "integers",
      min: 0,
      increasing: true,
      maxLength: 256,
      doc: "layers after which a stage ends",
    },
    lambda: { kind: "number", above: 0, max: 1, doc: "share of the alive visual tokens kept per stage" },
  },
  create: (o) => new PyramidDropPolicy(o),
  keep: {
    by: "schedule",
    knobs(keep, { layers, numVisual: n }, base) {
      // bisection on lambda: the mean fraction grows with it
      const stages = base.layers ?? DEFAULT_STAGES;
      const f = (x: number) => meanFraction(pdropCounts(layers, n, stages, x), n);
      let lo = 1e-4;
      let hi = 1;
      for (let i = 0; i < 40; i++) {
        const mid = (lo + hi) / 2;
        if (f(mid) > keep) hi = mid;
        else lo = mid;
      }
      return { ...base, layers: stages, lambda: Math.abs(f(lo) - keep) < Math.abs(f(hi) - keep) ? lo : hi };
    },
  },
  describe: (k) => `stages ${(k.layers ?? DEFAULT_STAGES).join("/")}, lambda ${(k.lambda ?? 0.5).toFixed(3)}`,
};
