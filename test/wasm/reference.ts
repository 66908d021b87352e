// Float64 reference forward of atp-tiny for the engine tests, written from training/model.py (the
// specification) with nothing shared with the engine: plain arrays, f64 arithmetic, exact erf GELU, RoPE
// from f64 angles. Weights are read from the converted files (manifest + shards) and dequantized with
// wasm/quant.ts (wasm/tensors.ts), so the only differences from the engine's f32 path are f32 rounding and the kernels'
// approximations; the int8 path adds activation quantization. Pruning is modelled as the paper's hard
// inference: after layer l only the kept visual tokens continue, with their original positions.
import { headDim, type ModelConfig } from "../../wasm/config";
import { readTensorsF32 } from "../../wasm/tensors";
import { visionPlan } from "../../wasm/pruning/vision";

type Vec = Float64Array;

/** erf in f64: Taylor series below 2.5, continued fraction for erfc above (both ~1e-14 here). */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 2.5) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 60; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * sum * (2 / Math.sqrt(Math.PI));
  }
  let k = a;
  for (let n = 80; n >= 1; n--) k = a + n / 2 / k;
  return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / k);
}

const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
const silu = (x: number) => x / (1 + Math.exp(-x));

/** Reads every tensor of a converted model as f64, Linear weights dequantized. */
export function readWeights(files: Map<string, Uint8Array>): { cfg: ModelConfig; w: Map<string, Vec> } {
  const { config, tensors } = readTensorsF32(files);
  return { cfg: config, w: new Map([...tensors].map(([name, v]) => [name, Float64Array.from(v)])) };
}

/** y [m, n] = x [m, k] W^T + b. */
function linear(x: Vec, m: number, W: Vec, n: number, k: number, b?: Vec): Vec {
  const y = new Float64Array(m * n);
  for (let r = 0; r < m; r++)
    for (let c = 0; c < n; c++) {
      let s = b ? b[c] : 0;
      for (let i = 0; i < k; i++) s += x[r * k + i] * W[c * k + i];
      y[r * n + c] = s;
    }
  return y;
}

function layerNorm(x: Vec, m: number, n: number, w: Vec, b: Vec, eps: number): Vec {
  const y = new Float64Array(m * n);
  for (let r = 0; r < m; r++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[r * n + i] / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[r * n + i] - mean) ** 2 / n;
    for (let i = 0; i < n; i++) y[r * n + i] = ((x[r * n + i] - mean) / Math.sqrt(v + eps)) * w[i] + b[i];
  }
  return y;
}

function rmsNorm(x: Vec, m: number, n: number, w: Vec, eps: number): Vec {
  const y = new Float64Array(m * n);
  for (let r = 0; r < m; r++) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[r * n + i] ** 2 / n;
    for (let i = 0; i < n; i++) y[r * n + i] = (x[r * n + i] / Math.sqrt(ss + eps)) * w[i];
  }
  return y;
}

/**
 * Attention of m query rows over n key rows (the new rows are the last m: causal offset n - m when
 * causal). q [m, hq*d], k/v [n, hkv*d]. Returns out [m, hq*d] and head-mean probabilities [m, n].
 */
function attention(
  q: Vec,
  k: Vec,
  v: Vec,
  m: number,
  n: number,
  hq: number,
  hkv: number,
  d: number,
  causal: boolean,
  keyBias: ArrayLike<number> | null = null,
) {
  const out = new Float64Array(m * hq * d);
  const probs = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let h = 0; h < hq; h++) {
      const kh = Math.floor(h / (hq / hkv));
      const nk = causal ? n - m + i + 1 : n;
      const s = new Float64Array(nk);
      let mx = -Infinity;
      for (let j = 0; j < nk; j++) {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q[i * hq * d + h * d + c] * k[j * hkv * d + kh * d + c];
        s[j] = dot / Math.sqrt(d) + (keyBias ? keyBias[j] : 0);
        mx = Math.max(mx, s[j]);
      }
      let sum = 0;
      for (let j = 0; j < nk; j++) sum += s[j] = Math.exp(s[j] - mx);
      for (let j = 0; j < nk; j++) {
        const p = s[j] / sum;
        probs[i * n + j] += p / hq;
        for (let c = 0; c < d; c++) out[i * hq * d + h * d + c] += p * v[j * hkv * d + kh * d + c];
      }
    }
  return { out, probs };
}

/** rotate_half RoPE in place on x [m, heads*d] at positions pos [m]. */
function rope(x: Vec, m: number, heads: number, d: number, pos: number[], theta: number): void {
  const half = d / 2;
  for (let r = 0; r < m; r++)
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < half; i++) {
        const ang = pos[r] / theta ** ((2 * i) / d);
        const o = r * heads * d + h * d;
        const a = x[o + i];
        const b = x[o + i + half];
        x[o + i] = a * Math.cos(ang) - b * Math.sin(ang);
        x[o + i + half] = b * Math.cos(ang) + a * Math.sin(ang);
      }
}

const add = (a: Vec, b: Vec) => a.map((v, i) => v + b[i]);

/** Options of the reference decoder run. */
export interface RefRunOptions {
  /** Grid indices of visual tokens kept after layer l (absent: keep all); l = -1: entering layer 0. */
  keepAfter?: Map<number, number[]>;
  /**
   * Merge each dropped visual token into its most similar kept one (cosine of the hidden states,
   * size-weighted mean) and add log(size) to the merged keys' scores (proportional attention).
   */
  merge?: boolean;
  /** Patches each visual token stands for entering layer 0, by grid index (a merging vision reduction). */
  inputSizes?: Map<number, number>;
  /** Greedy tokens to generate after the prompt (default 0). */
  maxTokens?: number;
  stop?: number;
}

/** What `Reference.image` returns: named intermediates, and after a vision reduction its kept patches. */
export interface ImageOut {
  "vision.patch_embeds": Vec;
  "vision.encoder_out": Vec;
  projector_out: Vec;
  grid?: number[];
  sizes?: number[];
}

export class Reference {
  readonly cfg: ModelConfig;
  private readonly w: Map<string, Vec>;
  constructor(files: Map<string, Uint8Array>) {
    ({ cfg: this.cfg, w: this.w } = readWeights(files));
  }
  private t(name: string): Vec {
    const v = this.w.get(name);
    if (!v) throw new Error(`reference: no tensor ${name}`);
    return v;
  }

  /** (H, W, 3) u8 of the model's size -> pixel_values [3, S, S]: x / 255, (x - mean) / std. */
  pixels(rgb: Uint8Array): Vec {
    const S = this.cfg.vision.imageSize;
    const px = new Float64Array(3 * S * S);
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < S * S; i++)
        px[c * S * S + i] = (rgb[i * 3 + c] / 255 - this.cfg.imageMean[c]) / this.cfg.imageStd[c];
    return px;
  }

  /**
   * pixel_values -> named vision intermediates and the projected visual tokens [Nv, Dt]. With `reduce`
   * (wasm/pruning/vision.ts): after encoder layer `reduce.layer` the plan `visionPlan` makes of that
   * layer's keys is applied in f64 (merging size-weighted with `merge`, then log(size) on the merged keys
   * in later layers); `projector_out` then holds the kept patches at their grid places (zeros elsewhere),
   * and `grid` / `sizes` say which patches they are and how many each stands for.
   */
  image(px: Vec, reduce?: { layer: number; tokens: number; merge: boolean }): ImageOut {
    const {
      imageSize: S,
      patchSize: P,
      hidden: D,
      intermediate: I,
      heads: H,
      layers,
      layerNormEps: eps,
    } = this.cfg.vision;
    const G = S / P;
    const n = G * G;
    const patches = new Float64Array(n * 3 * P * P);
    for (let t = 0; t < n; t++)
      for (let c = 0; c < 3; c++)
        for (let kh = 0; kh < P; kh++)
          for (let kw = 0; kw < P; kw++)
            patches[t * 3 * P * P + c * P * P + kh * P + kw] =
              px[c * S * S + (Math.floor(t / G) * P + kh) * S + (t % G) * P + kw];
    const patchEmbeds = linear(patches, n, this.t("vision.patch_embed.weight"), D, 3 * P * P);
    let x = add(patchEmbeds, this.t("vision.pos_embed"));
    const f = this.cfg.visionFeatureLayer;
    const run = f < 0 ? layers + 1 + f : f;
    let grid = Array.from({ length: n }, (_, i) => i);
    let sizes = grid.map(() => 1);
    let bias: number[] | null = null;
    for (let l = 0; l < run; l++) {
      const p = `vision.layers.${l}`;
      const m = grid.length;
      const lin = (h: Vec, name: string, no: number, ni: number) =>
        linear(h, m, this.t(`${p}.${name}.weight`), no, ni, this.t(`${p}.${name}.bias`));
      let h = layerNorm(x, m, D, this.t(`${p}.ln1.weight`), this.t(`${p}.ln1.bias`), eps);
      const k = lin(h, "attn.k", D, D);
      const a = attention(lin(h, "attn.q", D, D), k, lin(h, "attn.v", D, D), m, m, H, H, D / H, false, bias);
      x = add(x, lin(a.out, "attn.o", D, D));
      h = layerNorm(x, m, D, this.t(`${p}.ln2.weight`), this.t(`${p}.ln2.bias`), eps);
      x = add(x, lin(lin(h, "mlp.fc1", I, D).map(gelu), "mlp.fc2", D, I));
      if (reduce && l === reduce.layer) {
        const plan = visionPlan(Float32Array.from(k), m, D, reduce.tokens, Math.round(Math.sqrt(m)));
        if (reduce.merge)
          plan.dropped.forEach((d, i) => {
            const t = plan.into[i];
            const total = sizes[t] + sizes[d];
            for (let c = 0; c < D; c++)
              x[t * D + c] = (sizes[t] * x[t * D + c] + sizes[d] * x[d * D + c]) / total;
            sizes[t] = total;
          });
        const kept = Array.from(plan.kept);
        x = Float64Array.from(kept.flatMap((r) => [...x.subarray(r * D, (r + 1) * D)]));
        grid = kept.map((r) => grid[r]);
        sizes = kept.map((r) => sizes[r]);
        bias = sizes.some((z) => z !== 1) ? sizes.map(Math.log) : null;
      }
    }
    const m = grid.length;
    const encoderOut = this.cfg.visionFeaturePostLayernorm
      ? layerNorm(x, m, D, this.t("vision.post_ln.weight"), this.t("vision.post_ln.bias"), eps)
      : x;
    const rows = this.project(encoderOut, m);
    const Dt = this.cfg.text.hidden;
    const projected = new Float64Array(n * Dt);
    grid.forEach((g, j) => projected.set(rows.subarray(j * Dt, (j + 1) * Dt), g * Dt));
    const out = {
      "vision.patch_embeds": patchEmbeds,
      "vision.encoder_out": encoderOut,
      projector_out: projected,
    };
    return reduce ? { ...out, grid, sizes } : out;
  }

  /** The projector on a vision feature [Nv, Dv] -> visual tokens [Nv, Dt]. */
  project(feature: Vec, n = this.cfg.imageSeqLength): Vec {
    const D = this.cfg.vision.hidden;
    const Dt = this.cfg.text.hidden;
    const mid = linear(feature, n, this.t("projector.fc1.weight"), Dt, D, this.t("projector.fc1.bias")).map(
      gelu,
    );
    return linear(mid, n, this.t("projector.fc2.weight"), Dt, Dt, this.t("projector.fc2.bias"));
  }

  /**
   * Prefill of `ids` (with the visual tokens at the <image> rows) and greedy decoding. Returns the logits
   * of the prompt's last row, hidden states after each layer, head-mean probabilities per layer, the
   * visual tokens alive entering each layer, and the generated ids.
   */
  run(ids: number[], visual: Vec, opts: RefRunOptions = {}) {
    const t = this.cfg.text;
    const D = t.hidden;
    const hd = headDim(t);
    let x = new Float64Array(ids.length * D);
    let img = 0;
    ids.forEach((id, r) => {
      const src =
        id === this.cfg.imageTokenId
          ? visual.subarray(img++ * D, img * D)
          : this.t("llm.embed.weight").subarray(id * D, (id + 1) * D);
      x.set(src, r * D);
    });
    let pos = ids.map((_, i) => i);
    let grid = ids.map(() => -1);
    img = 0;
    ids.forEach((id, i) => id === this.cfg.imageTokenId && (grid[i] = img++));
    const caches: { k: Vec; v: Vec; n: number; bias: number[] }[] = [];
    let sizes = ids.map(() => 1);
    const hidden: Vec[] = [];
    const probs: Vec[] = [];
    const visualPerLayer: number[] = [];
    const layer = (l: number, xs: Vec, m: number, p: number[]) => {
      const pre = `llm.layers.${l}`;
      const h = rmsNorm(xs, m, D, this.t(`${pre}.attn_norm.weight`), t.rmsNormEps);
      const q = linear(h, m, this.t(`${pre}.attn.q.weight`), t.heads * hd, D);
      const k = linear(h, m, this.t(`${pre}.attn.k.weight`), t.kvHeads * hd, D);
      const v = linear(h, m, this.t(`${pre}.attn.v.weight`), t.kvHeads * hd, D);
      rope(q, m, t.heads, hd, p, t.ropeTheta);
      rope(k, m, t.kvHeads, hd, p, t.ropeTheta);
      const c = caches[l] ?? { k: new Float64Array(0), v: new Float64Array(0), n: 0, bias: [] };
      const K = new Float64Array([...c.k, ...k]);
      const V = new Float64Array([...c.v, ...v]);
      // prefill rows carry log(size); rows appended while decoding stand for one token
      const bias = [...c.bias, ...(c.n === 0 ? sizes.map(Math.log) : new Array<number>(m).fill(0))];
      caches[l] = { k: K, v: V, n: c.n + m, bias };
      const a = attention(q, K, V, m, c.n + m, t.heads, t.kvHeads, hd, true, bias);
      let y = add(xs, linear(a.out, m, this.t(`${pre}.attn.o.weight`), D, t.heads * hd));
      const h2 = rmsNorm(y, m, D, this.t(`${pre}.mlp_norm.weight`), t.rmsNormEps);
      const g = linear(h2, m, this.t(`${pre}.mlp.gate.weight`), t.intermediate, D);
      const u = linear(h2, m, this.t(`${pre}.mlp.up.weight`), t.intermediate, D);
      y = add(
        y,
        linear(
          g.map((z, i) => silu(z) * u[i]),
          m,
          this.t(`${pre}.mlp.down.weight`),
          D,
          t.intermediate,
        ),
      );
      return { y, probs: a.probs };
    };
    const head = (row: Vec) => {
      const h = rmsNorm(row, 1, D, this.t("llm.norm.weight"), t.rmsNormEps);
      return linear(h, 1, this.t("llm.head.weight"), t.vocabSize, D);
    };
    /** Only the text rows and the kept visual tokens continue, with their positions. */
    const drop = (keep: number[]) => {
      if (opts.merge) {
        const unit = (r: number) => {
          const v = Array.from(x.subarray(r * D, (r + 1) * D));
          const n = Math.sqrt(v.reduce((a, b) => a + b * b, 0));
          return v.map((z) => (n > 0 ? z / n : 0));
        };
        const kept = grid.map((g, i) => (g >= 0 && keep.includes(g) ? i : -1)).filter((i) => i >= 0);
        const dropped = grid.map((g, i) => (g >= 0 && !keep.includes(g) ? i : -1)).filter((i) => i >= 0);
        const ku = kept.map(unit);
        const targets = dropped.map((r) => {
          const u = unit(r);
          const sims = ku.map((k) => k.reduce((a, z, c) => a + z * u[c], 0));
          return kept[sims.indexOf(Math.max(...sims))];
        });
        dropped.forEach((d, i) => {
          const k = targets[i];
          const total = sizes[k] + sizes[d];
          for (let c = 0; c < D; c++)
            x[k * D + c] = (sizes[k] * x[k * D + c] + sizes[d] * x[d * D + c]) / total;
          sizes[k] = total;
        });
      }
      const rows = grid.map((g, i) => (g < 0 || keep.includes(g) ? i : -1)).filter((i) => i >= 0);
      x = Float64Array.from(rows.flatMap((r) => [...x.subarray(r * D, (r + 1) * D)]));
      pos = rows.map((r) => pos[r]);
      grid = rows.map((r) => grid[r]);
      sizes = rows.map((r) => sizes[r]);
    };
    const input = opts.keepAfter?.get(-1);
    if (input) drop(input);
    if (opts.inputSizes) sizes = grid.map((g, i) => (g >= 0 ? (opts.inputSizes!.get(g) ?? 1) : sizes[i]));
    for (let l = 0; l < t.layers; l++) {
      visualPerLayer.push(grid.filter((g) => g >= 0).length);
      const r = layer(l, x, pos.length, pos);
      x = r.y;
      hidden.push(x);
      probs.push(r.probs);
      const keep = opts.keepAfter?.get(l);
      if (keep && l + 1 < t.layers) drop(keep);
    }
    const logitsLast = head(x.subarray((pos.length - 1) * D));
    const tokens: number[] = [];
    let logits = logitsLast;
    let next = ids.length;
    for (let i = 0; i < (opts.maxTokens ?? 0); i++) {
      let best = 0;
      for (let j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
      if (best === opts.stop) break;
      tokens.push(best);
      let y: Vec = Float64Array.from(this.t("llm.embed.weight").subarray(best * D, (best + 1) * D));
      for (let l = 0; l < t.layers; l++) y = layer(l, y, 1, [next]).y;
      next++;
      logits = head(y);
    }
    return { logitsLast, hidden, probs, visualPerLayer, tokens };
  }
}
