// ATP (docs/method.md; the trained modules of training/atp.py, whose docstring is the specification): after
// each module layer, from that layer's head-averaged attention of the alive visual rows and the
// instruction rows, score every alive visual token
//   p_i(j) = A[i, j] / sum_j' A[i, j']        (j, j' alive visual keys)
//   S_self[j] = sum_{i visual} p_i(j)  (config atp.self_norm "sum", the shipped modules), or
//   S_self[j] = mean_{i visual, i >= j} (i + 1) p_i(j)  ("visible": without the causal bias to the first rows)
//   S_cross[j] = n * mean_{t instruction} p_t(j),  n = alive count
//   S_r = (S_self + S_cross) / 2;  S_s[j] = max over SAP grids holding j of 1 - lambda / stride^2
// feed 9 statistics of the log scores (with atp.question_state also the instruction rows' mean hidden
// state, RMS-normalised: questionState) to the module's MLP (z_r, z_s), shift both by the `budget` knob
// beta (t_r = z_r - beta, theta_s = sigmoid(z_s - beta)) and keep j iff log S_r[j] > t_r or S_s[j] >
// theta_s. beta > 0 keeps more (both thresholds fall), beta < 0 fewer; 0 is what training targeted.
// At least one visual token always survives (the best S_r).
import { gridSide, type AtpConfig } from "../config";
import type { MethodSpec } from "./method";
import type { CapturedAttention, LayerView, PolicyContext, PruningPolicy } from "./policy";

/** Inside log(S): as training/atp.py EPS. */
const EPS = 1e-6;

/** Per-token scores of one module over the alive visual tokens (order of view.visualRows). */
export interface AtpScores {
  self: Float64Array;
  cross: Float64Array;
  /** log((self + cross) / 2 + EPS) */
  logR: Float64Array;
}

/** SAP grid scores [grid * grid] (training/atp.py sap_scores). */
export function sapScores(grid: number, strides: number[], lambda: number): Float64Array {
  const s = new Float64Array(grid * grid);
  for (const st of strides) {
    const o = ((grid - 1) % st) >> 1; // centre the sub-grid
    const v = 1 - lambda / (st * st);
    for (let r = o; r < grid; r += st)
      for (let c = o; c < grid; c += st) s[r * grid + c] = Math.max(s[r * grid + c], v);
  }
  return s;
}

/**
 * Scores from the captured rows (the visual rows first, then the instruction rows, as captureRows asks).
 * `selfNorm` "visible" scales visual row i's share by the i + 1 alive keys it sees and averages over the
 * n - j rows that see token j (training/atp.py scores); "sum" adds the shares up. With `perPatch` a row
 * that stands for s patches (view.visualSizes) scores its shares divided by s: under proportional
 * attention such a row receives about s times what one of its patches would, so this is the score of one
 * of them (docs/method.md, "Scores of merged rows").
 */
export function atpScores(
  view: LayerView,
  a: CapturedAttention,
  selfNorm: AtpConfig["selfNorm"] = "sum",
  perPatch = false,
): AtpScores {
  const n = view.visualRows.length;
  const nText = view.textRows.length;
  const self = new Float64Array(n);
  const cross = new Float64Array(n);
  for (let i = 0; i < a.rows.length; i++) {
    const row = a.probs.subarray(i * a.keys, (i + 1) * a.keys);
    let sum = 0;
    for (let j = 0; j < n; j++) sum += row[view.visualRows[j]];
    const visible = i < n && selfNorm === "visible" ? i + 1 : 1;
    const inv = visible / Math.max(sum, 1e-30);
    const dst = i < n ? self : cross;
    for (let j = 0; j < n; j++) dst[j] += row[view.visualRows[j]] * inv;
  }
  const logR = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    if (selfNorm === "visible") self[j] /= n - j;
    cross[j] *= n / Math.max(1, nText);
    if (perPatch && view.visualSizes[j] !== 1) {
      self[j] /= view.visualSizes[j];
      cross[j] /= view.visualSizes[j];
    }
    logR[j] = Math.log((self[j] + cross[j]) / 2 + EPS);
  }
  return { self, cross, logR };
}

/** The MLP's input: mean/std of log S_self, log S_cross, log S_r; max log S_r; share above 0; n / N. */
export function atpFeatures(s: AtpScores, numVisual: number): Float64Array {
  const n = s.logR.length;
  const stats = (f: (j: number) => number): [number, number] => {
    let mu = 0;
    for (let j = 0; j < n; j++) mu += f(j);
    mu /= Math.max(n, 1e-6);
    let v = 0;
    for (let j = 0; j < n; j++) v += (f(j) - mu) ** 2;
    return [mu, Math.sqrt(v / Math.max(n, 1e-6))];
  };
  const [ms, ss] = stats((j) => Math.log(s.self[j] + EPS));
  const [mc, sc] = stats((j) => Math.log(s.cross[j] + EPS));
  const [mr, sr] = stats((j) => s.logR[j]);
  let mx = Math.log(EPS);
  let above = 0;
  for (let j = 0; j < n; j++) {
    if (j === 0 || s.logR[j] > mx) mx = s.logR[j];
    if (s.logR[j] > 0) above++;
  }
  return Float64Array.from([ms, ss, mc, sc, mr, sr, mx, above / Math.max(n, 1e-6), n / numVisual]);
}

/**
 * The instruction rows' mean hidden state divided by its root mean square (eps 1e-6), as
 * training/atp.py question_state: `hidden` [rows, dim] as the view holds it where the module decides.
 */
export function questionState(hidden: Float32Array, dim: number, rows: Int32Array): Float64Array {
  const q = new Float64Array(dim);
  for (const r of rows) for (let c = 0; c < dim; c++) q[c] += hidden[r * dim + c];
  let ss = 0;
  for (let c = 0; c < dim; c++) {
    q[c] /= Math.max(rows.length, 1);
    ss += q[c] * q[c];
  }
  const inv = 1 / Math.sqrt(ss / dim + 1e-6);
  for (let c = 0; c < dim; c++) q[c] *= inv;
  return q;
}

/** One module's MLP weights (atp.{k}.mlp.*). */
interface Mlp {
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

/** fc2(relu(fc1(f))) -> [z_r, z_s]. */
function mlp(m: Mlp, f: Float64Array, hidden: number): [number, number] {
  const F = f.length;
  const z = [m.b2[0], m.b2[1]];
  for (let h = 0; h < hidden; h++) {
    let a = m.b1[h];
    for (let i = 0; i < F; i++) a += m.w1[h * F + i] * f[i];
    if (a > 0) {
      z[0] += m.w2[h] * a;
      z[1] += m.w2[hidden + h] * a;
    }
  }
  return [z[0], z[1]];
}

/** What one module decided (stats for tests and reports). */
export interface AtpDecision {
  layer: number;
  tR: number;
  thetaS: number;
  alive: number;
  kept: number;
}

/** Knobs of `atp`. */
export interface AtpOptions {
  /** Shifts both thresholds (see the header); 0 = as trained. */
  budget?: number;
  /**
   * 1: the first module (after layer 0) decides before layer 0 instead, from the same attention (layer
   * 0's, computed on its input), so the LLM sees only the tokens it keeps from its first layer on;
   * 0: after layer 0. Default the model's `atp.input` (0 when absent).
   */
  input?: number;
}

export class AtpPolicy implements PruningPolicy {
  readonly name = "atp";
  readonly budget: number;
  private cfg: AtpConfig | null = null;
  /** Module 0 decides before layer 0 (the `input` knob). */
  private atInput = false;
  private mlps: (Mlp | null)[] = [];
  private sap: Float64Array = new Float64Array(0);
  /** Per module, the last prefill's decision. */
  decisions: AtpDecision[] = [];
  merge?: boolean;

  constructor(readonly options: AtpOptions = {}) {
    this.budget = options.budget ?? 0;
  }

  begin(ctx: PolicyContext): void {
    const a = ctx.config.atp;
    if (!a) throw new Error("atp: this model has no ATP modules (config.json lacks `atp`)");
    const features = 9 + (a.questionState ? ctx.config.text.hidden : 0);
    if (a.numFeatures !== features)
      throw new Error(`atp: ${a.numFeatures} features, the engine computes ${features}`);
    this.cfg = a;
    this.merge ??= a.merge; // the model's default unless the request's `merge` knob said
    this.atInput = (this.options.input ?? (a.input ? 1 : 0)) === 1;
    if (this.atInput && a.layers[0] !== 0)
      throw new Error(
        `atp: input needs a first module after layer 0, this model's is after layer ${a.layers[0]}`,
      );
    const H = a.mlpHidden;
    // A stage of a split model holds only the modules of its layers (wasm/split.ts).
    this.mlps = a.layers.map((_, k) =>
      ctx.has(`atp.${k}.mlp.fc1.weight`)
        ? {
            w1: ctx.tensor(`atp.${k}.mlp.fc1.weight`, H * a.numFeatures),
            b1: ctx.tensor(`atp.${k}.mlp.fc1.bias`, H),
            w2: ctx.tensor(`atp.${k}.mlp.fc2.weight`, 2 * H),
            b2: ctx.tensor(`atp.${k}.mlp.fc2.bias`, 2),
          }
        : null,
    );
    const grid = gridSide(ctx.config.imageSeqLength);
    this.sap = sapScores(grid, a.gridStrides, a.sapLambda);
    this.decisions = [];
  }

  private module(layer: number): number {
    if (!this.cfg) throw new Error("atp: begin() was not called");
    return this.cfg.layers.indexOf(layer);
  }

  /** The module deciding after `view.layer` (-1: none; module 0 decides before layer 0 when atInput). */
  private after(view: LayerView): number {
    const k = this.module(view.layer);
    return k === 0 && this.atInput ? -1 : k;
  }

  /** The rows a module scores: the alive visual rows, then the instruction rows. */
  private scoredRows(view: LayerView): Int32Array | null {
    if (view.visualRows.length === 0) return null;
    const rows = new Int32Array(view.visualRows.length + view.textRows.length);
    rows.set(view.visualRows);
    rows.set(view.textRows, view.visualRows.length);
    return rows;
  }

  captureRows(view: LayerView): Int32Array | null {
    return this.after(view) < 0 ? null : this.scoredRows(view);
  }

  probeFirstLayer(view: LayerView): Int32Array | null {
    return this.atInput ? this.scoredRows(view) : null;
  }

  beforeFirstLayer(view: LayerView, attention: CapturedAttention | null): Int32Array | null {
    return this.atInput && attention ? this.decide(0, view, attention) : null;
  }

  afterLayer(view: LayerView, attention: CapturedAttention | null): Int32Array | null {
    const k = this.after(view);
    return k < 0 || !attention ? null : this.decide(k, view, attention);
  }

  /** Module k's kept grid indices from `attention` over the rows of `view`. */
  private decide(k: number, view: LayerView, attention: CapturedAttention): Int32Array {
    // the first module was trained on rows of one patch each (its later ones on the rows merging left
    // them): where a vision reduction merged patches before it, it scores them per patch
    const s = atpScores(view, attention, this.cfg!.selfNorm, k === 0);
    const m = this.mlps[k];
    if (!m) throw new Error(`atp: module ${k} (after layer ${view.layer}) is not in this model part`);
    let f = atpFeatures(s, view.numVisual);
    if (this.cfg!.questionState) {
      const dim = this.cfg!.numFeatures - f.length;
      const withQ = new Float64Array(this.cfg!.numFeatures);
      withQ.set(f);
      withQ.set(questionState(view.hidden(), dim, view.textRows), f.length);
      f = withQ;
    }
    const [zr, zs] = mlp(m, f, this.cfg!.mlpHidden);
    const tR = zr - this.budget;
    const thetaS = 1 / (1 + Math.exp(-(zs - this.budget)));
    const keep: number[] = [];
    let best = 0;
    view.visualIndex.forEach((g, j) => {
      if (s.logR[j] > tR || this.sap[g] > thetaS) keep.push(g);
      if (s.logR[j] > s.logR[best]) best = j;
    });
    if (keep.length === 0) keep.push(view.visualIndex[best]);
    this.decisions.push({ layer: view.layer, tR, thetaS, alive: view.visualRows.length, kept: keep.length });
    return Int32Array.from(keep);
  }
}

/** Budget search range for --keep: beyond +-8 the thresholds saturate (sigmoid / a log-score shift of e^8). */
const KEEP_BUDGET_RANGE = 8;

export const atp: MethodSpec<AtpOptions> = {
  summary: "ATP-LLaVA: learned per-layer, per-instance thresholds on attention scores plus spatial SAP",
  knobs: {
    budget: { kind: "number", doc: "shifts both learned thresholds: > 0 keeps more, < 0 fewer" },
    input: {
      kind: "integer",
      min: 0,
      max: 1,
      doc: "1: the first module decides before layer 0 (from layer 0's attention on its input)",
    },
  },
  create: (o) => new AtpPolicy(o),
  unavailable: (c) =>
    c.atp ? null : "Method 'atp' needs a model trained with ATP modules; this one has none",
  // the budget depends on the instance: calibrated by measurement on questions; counted at the input
  // only where the first module sits there (atp.input or the `input` knob)
  keep: {
    by: "measure",
    knob: "budget",
    lo: -KEEP_BUDGET_RANGE,
    hi: KEEP_BUDGET_RANGE,
    countBy: ["mean", "input"],
  },
  describe: (k) =>
    [k.budget === undefined ? "" : `budget ${k.budget.toFixed(3)}`, k.input ? "at the input" : ""]
      .filter(Boolean)
      .join(", "),
};
