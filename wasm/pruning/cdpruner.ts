// CDPruner (Zhang et al., NeurIPS'25): before the first LLM layer, a determinantal point process over the
// visual tokens whose kernel couples their similarity with their relevance to the instruction,
//   L = diag(r) S diag(r),  S = cosine similarities of the projector outputs,
// and its greedy MAP selection of k tokens (the fast incremental Cholesky form: each step takes the token
// with the largest remaining marginal gain d_i^2 and updates the others' gains). Relevance, adapted to
// this model (the paper's LLaVA build compares CLIP image embeddings with CLIP's text encoder, which an
// LLM-only tokenizer does not have): the mean cosine similarity of each visual token to the instruction's
// token embeddings (the LLM's embedding table, the space the projector maps into), min-max normalised to
// [0, 1], then r = exp(alpha * r) with alpha = theta / (2 (1 - theta)); theta = 0 makes r constant and
// the selection a plain DPP MAP on S (the paper's theta knob).
import { keepInputTokens, type MethodSpec } from "./method";
import type { LayerView, PolicyContext, PruningPolicy } from "./policy";
import { cosineMatrix, unitRows, visualUnits } from "./select";

/** Knobs of `cdpruner`. */
export interface CdPrunerOptions {
  /** Visual tokens kept; default a quarter of the image's. */
  tokens?: number;
  /** Weight of the instruction relevance in [0, 1): 0 = a plain DPP on similarity; default 0.5. */
  theta?: number;
}

/** Greedy MAP of the DPP with kernel L [n, n]: k indices in the order picked (ties: lowest index). */
export function dppGreedyMap(L: Float64Array, n: number, k: number): number[] {
  const take = Math.max(0, Math.min(n, k));
  const gain = Float64Array.from({ length: n }, (_, i) => L[i * n + i]); // d_i^2
  const c: Float64Array[] = []; // c[t][i]: the Cholesky rows of the picks
  const chosen = new Uint8Array(n);
  const picked: number[] = [];
  for (let t = 0; t < take; t++) {
    let j = -1;
    for (let i = 0; i < n; i++) if (!chosen[i] && (j < 0 || gain[i] > gain[j])) j = i;
    picked.push(j);
    chosen[j] = 1;
    // the kernel's rank is spent: later picks add nothing and go by index (the budget still holds)
    const dj = Math.sqrt(Math.max(gain[j], 0));
    const e = new Float64Array(n);
    if (dj > 1e-12) {
      for (let i = 0; i < n; i++) {
        let s = L[j * n + i];
        for (let p = 0; p < t; p++) s -= c[p][j] * c[p][i];
        e[i] = s / dj;
      }
    }
    c.push(e);
    for (let i = 0; i < n; i++) gain[i] -= e[i] * e[i];
  }
  return picked;
}

export class CdPrunerPolicy implements PruningPolicy {
  readonly name = "cdpruner";
  /** Embeddings of the instruction tokens [instruction.length, hidden]. */
  private embed: Float32Array = new Float32Array(0);
  private instruction: readonly number[] = [];
  constructor(readonly options: CdPrunerOptions = {}) {}

  begin(ctx: PolicyContext): void {
    this.instruction = ctx.instructionIds;
    this.embed = ctx.embedRows(this.instruction);
  }

  beforeFirstLayer(view: LayerView): Int32Array {
    const { n, d, k, u } = visualUnits(view, this.options.tokens);
    const S = cosineMatrix(u, n, d);
    const r = relevance(
      u,
      n,
      d,
      unitRows(
        this.embed,
        d,
        this.instruction.map((_, i) => i),
      ),
      this.instruction.length,
    );
    const theta = this.options.theta ?? 0.5;
    const alpha = theta / (2 * (1 - theta));
    const w = r.map((x) => Math.exp(alpha * x));
    const L = S.map((s, ij) => w[Math.floor(ij / n)] * s * w[ij % n]);
    return Int32Array.from(dppGreedyMap(L, n, k), (i) => view.visualIndex[i]).sort();
  }
  captureRows(): null {
    return null;
  }
  afterLayer(): null {
    return null;
  }
}

/** Mean cosine similarity of each of n unit rows u to m unit rows q, min-max normalised to [0, 1]. */
function relevance(u: Float64Array, n: number, d: number, q: Float64Array, m: number): Float64Array {
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < m; t++) for (let c = 0; c < d; c++) s += u[i * d + c] * q[t * d + c];
    r[i] = m > 0 ? s / m : 0;
  }
  const lo = Math.min(...r);
  const span = Math.max(...r) - lo;
  return r.map((x) => (span > 0 ? (x - lo) / span : 0));
}

export const cdpruner: MethodSpec<CdPrunerOptions> = {
  summary:
    "CDPruner: before the LLM, a DPP over visual tokens (similarity x instruction relevance), greedy MAP",
  knobs: {
    tokens: { kind: "integer", min: 1, doc: "visual tokens kept (entering layer 0)" },
    theta: { kind: "number", min: 0, below: 1, doc: "weight of the instruction relevance (0 = plain DPP)" },
  },
  create: (o) => new CdPrunerPolicy(o),
  keep: keepInputTokens(),
  describe: (k) =>
    `${k.tokens === undefined ? "N/4" : k.tokens} tokens, theta ${(k.theta ?? 0.5).toFixed(2)}`,
};
