// DivPrune (Alvar et al., CVPR'25): before the first LLM layer, keep the k visual tokens (projector
// outputs) that solve the max-min diversity problem greedily: under the cosine distance
// d(i, j) = 1 - cos(v_i, v_j), the first pick is the token whose nearest other token is farthest, each
// next pick the token farthest from the picks so far (its distance to the set: the minimum over picks).
// Ties go to the lowest grid index. Training-free; the LLM sees k visual tokens from layer 0 on.
import { keepInputTokens, type MethodSpec } from "./method";
import type { LayerView, PruningPolicy } from "./policy";
import { cosineMatrix, visualUnits } from "./select";

/** Knobs of `divprune`. */
export interface DivPruneOptions {
  /** Visual tokens kept; default a quarter of the image's (DivPrune's ~128 of 576). */
  tokens?: number;
}

/** Indices (into the n rows of unit vectors u [n, d]) of the greedy max-min diverse set of size k. */
export function maxMinDiverse(u: Float64Array, n: number, d: number, k: number): number[] {
  const dist = cosineMatrix(u, n, d).map((s) => 1 - s);
  const take = Math.max(0, Math.min(n, k));
  const picked: number[] = [];
  const toSet = new Float64Array(n).fill(Infinity); // distance of each token to the picks
  const chosen = new Uint8Array(n);
  for (let t = 0; t < take; t++) {
    let best = -1;
    let bestScore = -Infinity;
    for (let i = 0; i < n; i++) {
      if (chosen[i]) continue;
      let score = toSet[i];
      if (t === 0) {
        score = Infinity; // first pick: distance to its nearest other token
        for (let j = 0; j < n; j++) if (j !== i) score = Math.min(score, dist[i * n + j]);
        if (n === 1) score = 0;
      }
      if (score > bestScore) [best, bestScore] = [i, score];
    }
    picked.push(best);
    chosen[best] = 1;
    for (let i = 0; i < n; i++) toSet[i] = Math.min(toSet[i], dist[best * n + i]);
  }
  return picked;
}

export class DivPrunePolicy implements PruningPolicy {
  readonly name = "divprune";
  constructor(readonly options: DivPruneOptions = {}) {}

  beforeFirstLayer(view: LayerView): Int32Array {
    const { n, d, k, u } = visualUnits(view, this.options.tokens);
    return Int32Array.from(maxMinDiverse(u, n, d, k), (i) => view.visualIndex[i]).sort();
  }
  captureRows(): null {
    return null;
  }
  afterLayer(): null {
    return null;
  }
}

export const divprune: MethodSpec<DivPruneOptions> = {
  summary: "DivPrune: before the LLM, the k most diverse visual tokens (greedy max-min cosine distance)",
  knobs: { tokens: { kind: "integer", min: 1, doc: "visual tokens kept (entering layer 0)" } },
  create: (o) => new DivPrunePolicy(o),
  keep: keepInputTokens(),
  describe: (k) => (k.tokens === undefined ? "N/4 tokens" : `${k.tokens} tokens`),
};
