// VisionZip (Yang et al., CVPR'25): at the vision encoder's output, keep the "dominant" visual tokens that
// receive the most attention in its last layer, and merge the rest into a few "contextual" tokens: evenly
// spaced targets among the rest, every other token assigned to its most similar target by key cosine, each
// contextual token = its target's feature + the mean of the features assigned to it (the paper's code).
// The LLM then sees dominant + contextual tokens from layer 0 on; a contextual token stands at its
// target's place in the grid (its position id). Adapted to this model: the paper ranks by the [CLS]
// token's attention, which this ViT has not; here a token's score is the attention it receives from all
// rows (head mean, the column mean of the captured probabilities).
import { keepInputTokens, type MethodSpec } from "./method";
import type { LayerView, PruningPolicy, VisionView } from "./policy";
import { topK, unitRows } from "./select";

/** Knobs of `visionzip`. */
export interface VisionZipOptions {
  /** Visual tokens entering the LLM (dominant + contextual); default a quarter of the image's. */
  tokens?: number;
  /** Of those, contextual (merged) tokens; default 10 / 64 of them (the paper's 54 + 10). */
  contextual?: number;
}

/** Dominant and contextual grid indices, and the merged features they replace, for one image. */
export interface ZipPlan {
  dominant: number[];
  /** Contextual target grid index -> the grid indices merged into it (the target excluded). */
  merged: Map<number, number[]>;
}

/** VisionZip's choice on probabilities [n, n] and keys [n, d]: `k` tokens, `c` of them contextual. */
export function zipPlan(
  probs: Float32Array,
  keys: Float32Array,
  n: number,
  d: number,
  k: number,
  c: number,
): ZipPlan {
  const total = Math.max(1, Math.min(n, k));
  const nContext = Math.max(0, Math.min(total - 1, c));
  const received = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) received[j] += probs[i * n + j] / n;
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const dominant = Array.from(topK(all, received, total - nContext));
  const isDominant = new Set(dominant);
  const rest = Array.from(all).filter((i) => !isDominant.has(i));
  const merged = new Map<number, number[]>();
  if (nContext === 0 || rest.length === 0) return { dominant, merged };
  const step = Math.max(1, Math.floor(rest.length / nContext));
  const targets = Array.from({ length: Math.min(nContext, rest.length) }, (_, t) => rest[t * step]);
  targets.forEach((t) => merged.set(t, []));
  const u = unitRows(keys, d, Array.from(all));
  for (const i of rest) {
    if (merged.has(i)) continue;
    let best = targets[0];
    let bestSim = -Infinity;
    for (const t of targets) {
      let s = 0;
      for (let x = 0; x < d; x++) s += u[i * d + x] * u[t * d + x];
      if (s > bestSim) [best, bestSim] = [t, s];
    }
    merged.get(best)!.push(i);
  }
  return { dominant, merged };
}

export class VisionZipPolicy implements PruningPolicy {
  readonly name = "visionzip";
  private keep: Int32Array | null = null;
  /** The last image's plan (tests and reports). */
  plan: ZipPlan | null = null;
  constructor(readonly options: VisionZipOptions = {}) {}

  afterVision(v: VisionView): void {
    const n = v.numVisual;
    const d = v.features.length / n;
    const k = this.options.tokens ?? Math.round(n / 4);
    const plan = (this.plan = zipPlan(
      v.probs,
      v.keys,
      n,
      d,
      k,
      this.options.contextual ?? Math.round((Math.min(n, k) * 10) / 64),
    ));
    // each contextual token: target + mean of the tokens merged into it, written over the target's row
    for (const [t, members] of plan.merged) {
      if (members.length === 0) continue;
      for (let x = 0; x < d; x++) {
        let s = 0;
        for (const m of members) s += v.features[m * d + x];
        v.features[t * d + x] += s / members.length;
      }
    }
    this.keep = Int32Array.from([...plan.dominant, ...plan.merged.keys()]).sort();
  }
  beforeFirstLayer(_view: LayerView): Int32Array | null {
    return this.keep;
  }
  captureRows(): null {
    return null;
  }
  afterLayer(): null {
    return null;
  }
}

export const visionzip: MethodSpec<VisionZipOptions> = {
  summary:
    "VisionZip: after the vision tower, dominant tokens by attention received + a few merged contextual ones",
  knobs: {
    tokens: { kind: "integer", min: 1, doc: "visual tokens entering the LLM" },
    contextual: { kind: "integer", min: 0, doc: "of those, contextual tokens merged from the rest" },
  },
  create: (o) => new VisionZipPolicy(o),
  keep: keepInputTokens(),
  describe: (k) => `${k.tokens ?? "N/4"} tokens (${k.contextual ?? "10/64"} contextual)`,
};
