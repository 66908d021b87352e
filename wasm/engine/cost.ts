// The cost model (docs/cost.md): a request's CPU milliseconds predicted from what it will compute, with
// throughputs measured per platform by `npm run bench:cost` in workerd and stored with the model
// (cost.json beside the shards, named by the manifest). Every term is a count the engine knows before it
// runs: input pixels (image decode, preprocessing), each vision encoder layer and the projector at their
// row counts (all patches unless a vision reduction dropped some), each LLM layer at its row count
// (linear in rows for the weights, quadratic for attention), the pruning method's own work (measured
// per method and budget), and each decode step at the KV length of every layer.
import type { KernelBuildName, RdotLowering } from "../kernels";
import type { CountBy } from "../pruning/method";
import { visionReductionKey, type VisionReduction } from "../pruning/vision";

/** Image formats the cost model has a decode rate for (`raw`: pixels handed over decoded). */
export type ImageFormat = "png" | "jpeg" | "raw";

/** Milliseconds per unit of each term on one platform (a runtime and a kernel build on one host). */
export interface CostRates {
  /**
   * Image decode: ms = fixed + perMpx x megapixels + perMB x megabytes of the file, by format (absent:
   * not measured, 0). The bytes term is entropy decoding, which a DCT-scaled JPEG decode still does in
   * full; the pixels term is what is written out.
   */
  decode: Partial<Record<ImageFormat, { fixedMs: number; perMpxMs: number; perMBMs: number }>>;
  /** The engine's preprocessing (resample to the vision input): fixed + per input megapixel. */
  preprocess: { fixedMs: number; perMpxMs: number };
  /**
   * The vision tower: patch embedding and post LayerNorm (fixedMs), each of `layers` encoder layers at r
   * rows (as `layer` below, attention bidirectional), and the projector at the rows it reads.
   */
  vision: {
    fixedMs: number;
    layers: number;
    layer: { fixedMs: number; perRowMs: number; perRowSqMs: number };
    projector: { fixedMs: number; perRowMs: number };
  };
  /** One LLM prefill layer at r rows: fixedMs + perRowMs r + perRowSqMs r^2 (causal attention). */
  layer: { fixedMs: number; perRowMs: number; perRowSqMs: number };
  /** Final norm and LM head of the last prompt row. */
  headMs: number;
  /** One decode step: fixedMs (every weight read once) + perKvRowMs x KV rows summed over layers. */
  decode_step: { fixedMs: number; perKvRowMs: number };
}

/** One budget point of a method: its knobs and what it kept on the calibration questions. */
export interface BudgetPoint {
  /** Target fraction of visual tokens the knobs were set for (tools/eval/calibrate.ts). */
  keep: number;
  countBy: CountBy;
  knobs: Record<string, number | number[]>;
  /** Mean visual tokens entering each LLM layer on the calibration questions. */
  visualPerLayer: number[];
  /**
   * 95th percentile over the calibration questions of the total kept (sum over layers) against the mean:
   * an adaptive method keeps more on some instances; the budget plans for this share of them.
   */
  p95Ratio: number;
  /** Mean milliseconds of the method's own work (scores, selection, compaction) per request. */
  pruneMs: number;
  /**
   * A vision reduction run before the method (wasm/pruning/vision.ts) and the rows of each encoder layer
   * it leaves; absent: none (every layer at all patches).
   */
  vision?: VisionReduction;
  visionRows?: number[];
}

/** One platform's row: where it was measured, its rates and every method's budget points. */
export interface PlatformCost {
  /** `runtime/build/int8dot`, e.g. `workerd/relaxed/fused` (platformKey). */
  key: string;
  /** The CPU the row was measured on (model name and flags). */
  host: string;
  measuredAt: string;
  /**
   * When the budget points were last derived for the current weights, if later than measuredAt: a row of
   * another host class carried through a remeasuring (withPointsOf) keeps its rates and timings.
   */
  pointsAt?: string;
  rates: CostRates;
  /**
   * 95th percentile of measured / (predicted x pace) CPU over the calibration requests, the pace a model
   * would have had at each (wasm/engine/pace.ts; clock rounding, noise, what the terms miss): a budget
   * plans for predicted x pace x safety, so that nearly every request fits.
   */
  safety: number;
  /** Method name -> its budget points, most tokens first. */
  methods: Record<string, BudgetPoint[]>;
}

/** cost.json: the model's cost table. */
export interface CostTable {
  format: typeof COST_FORMAT;
  modelId: string;
  platforms: PlatformCost[];
}

export const COST_FORMAT = "atp-edge-cost/2";

/** A point's identity across tables: its method's fraction and its vision reduction. */
const pointKey = (p: BudgetPoint) => `${p.keep}|${visionReductionKey(p.vision)}`;

/**
 * `row` (measured on another host) with the budget points of `points` (derived for the current weights on
 * this host): knobs, counts and the 95th-percentile ratio depend on the weights only, so they are taken;
 * the pruning time is the host's, so each point keeps the row's own figure for the same method, fraction
 * and vision reduction (this host's where the row has none). Rates and safety stay the row's.
 */
export function withPointsOf(
  row: PlatformCost,
  points: Record<string, BudgetPoint[]>,
  at: string,
): PlatformCost {
  const methods: Record<string, BudgetPoint[]> = {};
  for (const [m, pts] of Object.entries(points)) {
    const own = new Map((row.methods[m] ?? []).map((p) => [pointKey(p), p.pruneMs]));
    methods[m] = pts.map((p) => ({ ...p, pruneMs: own.get(pointKey(p)) ?? p.pruneMs }));
  }
  return { ...row, pointsAt: at, methods };
}

/** What one request will compute. */
export interface RequestWork {
  imageFormat: ImageFormat;
  /** Pixels of the image file, and its size in bytes (default 0). */
  imagePixels: number;
  imageBytes?: number;
  /** Pixels the decoder hands to preprocessing (fewer for a JPEG decoded at DCT scale); default imagePixels. */
  inputPixels?: number;
  /** Prompt ids with the visual tokens (promptIds length). */
  promptTokens: number;
  /** Visual tokens of the unpruned prompt (image_seq_length). */
  numVisual: number;
  /** Visual tokens entering each LLM layer. */
  visualPerLayer: number[];
  /** Rows of each vision encoder layer (a vision reduction's); default every layer at numVisual. */
  visionRows?: number[];
  /**
   * The vision output comes from the model's cache (wasm/engine/vision-cache.ts): no preprocessing,
   * encoder or projector (the image is still decoded). Default false.
   */
  visionCached?: boolean;
  /** The image is not decoded (a follow-up whose vision output is cached: the Worker skips it). Default false. */
  decodeSkipped?: boolean;
  pruneMs: number;
  /** Tokens generated (the first comes from prefill; each later one is a decode step). */
  tokens: number;
}

/** Predicted milliseconds, by part. */
export interface CostPrediction {
  imageMs: number;
  preprocessMs: number;
  visionMs: number;
  prefillMs: number;
  /** preprocess + vision + prefill: the engine's time to first token. */
  ttftMs: number;
  decodeMs: number;
  /** image + ttft + decode: the request's CPU in the engine and the image decoder. */
  totalMs: number;
}

const MPX = 1e6;
const MB = 1e6;

/** Prompt rows entering each layer. */
export function rowsPerLayer(
  w: Pick<RequestWork, "promptTokens" | "numVisual" | "visualPerLayer">,
): number[] {
  const text = w.promptTokens - w.numVisual;
  return w.visualPerLayer.map((v) => text + v);
}

/** Milliseconds of one layer at `rows` rows, on a layer's rates (LLM prefill or vision encoder). */
export function layerMs(r: CostRates | { layer: CostRates["layer"] }, rows: number): number {
  return r.layer.fixedMs + r.layer.perRowMs * rows + r.layer.perRowSqMs * rows * rows;
}

/** Milliseconds of the vision tower and projector with `rows[i]` rows in encoder layer i. */
export function visionMs(r: CostRates, rows: number[]): number {
  const v = r.vision;
  const out = rows.length ? rows[rows.length - 1] : 0;
  return (
    v.fixedMs + rows.reduce((s, n) => s + layerMs(v, n), 0) + v.projector.fixedMs + v.projector.perRowMs * out
  );
}

/** The predicted cost of `w` on rates `r`. */
export function predictCost(r: CostRates, w: RequestWork): CostPrediction {
  const mpx = w.imagePixels / MPX;
  const dec = r.decode[w.imageFormat];
  const imageMs =
    dec && w.decodeSkipped !== true
      ? dec.fixedMs + dec.perMpxMs * mpx + (dec.perMBMs * (w.imageBytes ?? 0)) / MB
      : 0;
  const cached = w.visionCached === true;
  const preprocessMs = cached
    ? 0
    : r.preprocess.fixedMs + (r.preprocess.perMpxMs * (w.inputPixels ?? w.imagePixels)) / MPX;
  const rows = rowsPerLayer(w);
  const prefillMs = rows.reduce((s, n) => s + layerMs(r, n), 0) + r.headMs + w.pruneMs;
  const kv0 = rows.reduce((a, b) => a + b, 0);
  const L = rows.length;
  let decodeMs = 0;
  // step i (1-based) runs with kv0 + (i - 1) rows per layer already cached, plus its own
  for (let i = 1; i < w.tokens; i++)
    decodeMs += r.decode_step.fixedMs + r.decode_step.perKvRowMs * (kv0 + L * i);
  const vision = cached
    ? 0
    : visionMs(r, w.visionRows ?? new Array<number>(r.vision.layers).fill(w.numVisual));
  const ttftMs = preprocessMs + vision + prefillMs;
  return {
    imageMs,
    preprocessMs,
    visionMs: vision,
    prefillMs,
    ttftMs,
    decodeMs,
    totalMs: imageMs + ttftMs + decodeMs,
  };
}

/** The KV rows one decode step reads, summed over layers, for a step with `kvPerLayer` cached. */
export function decodeKvRows(kvPerLayer: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < kvPerLayer.length; i++) s += kvPerLayer[i] + 1;
  return s;
}

/** The row of `table` (if any) that predicts for model `m`'s platform, or null. */
export function costRowOf(
  table: CostTable | null,
  m: { build: KernelBuildName | null; int8Dot: RdotLowering | null },
): PlatformCost | null {
  return table ? platformRow(table, platformKey(m)) : null;
}

/** A request's own pruning time as measured: every module's, and a vision reduction's matching. */
export function measuredPruneMs(t: { pruneMsPerLayer: number[]; visionReduceMs: number }): number {
  return t.pruneMsPerLayer.reduce((a, b) => a + b, 0) + t.visionReduceMs;
}

/**
 * The row of `table` for `key`, else the first with the same runtime and kernel build (another host
 * class), else the first with the same kernel build, else the first.
 */
export function platformRow(table: CostTable, key: string): PlatformCost | null {
  const part = (k: string, n: number) => k.split("/").slice(0, n).join("/");
  return (
    table.platforms.find((p) => p.key === key) ??
    table.platforms.find((p) => part(p.key, 2) === part(key, 2)) ??
    table.platforms.find((p) => p.key.split("/")[1] === key.split("/")[1]) ??
    table.platforms[0] ??
    null
  );
}

/**
 * `runtime/build/int8dot`, e.g. `workerd/relaxed/fused`: the runtime this code runs in, the model's
 * kernel build (wasm/kernels.ts KERNEL_BUILDS) and how the engine runs its int8 dot (`rdotLowering`: the
 * host class, fused where the CPU has VNNI, emulated where not; left out for a build without relaxed
 * SIMD). A model that runs no kernels itself (a split model's front door) has build null: `unknown`.
 */
export function platformKey(m: { build: KernelBuildName | null; int8Dot: RdotLowering | null }): string {
  const runtime =
    typeof navigator !== "undefined" && navigator.userAgent === "Cloudflare-Workers" ? "workerd" : "node";
  if (!m.build) return `${runtime}/unknown`;
  return !m.int8Dot || m.int8Dot === "none" ? `${runtime}/${m.build}` : `${runtime}/${m.build}/${m.int8Dot}`;
}

/**
 * Least squares y ~ X b with b >= 0 (every subset of columns tried: the models here have <= 4 terms),
 * the fit with the smallest residual among those whose coefficients are all non-negative.
 */
export function fitNonNegative(X: number[][], y: number[]): number[] {
  const k = X[0]?.length ?? 0;
  let best: { b: number[]; err: number } | null = null;
  for (let mask = 1; mask < 1 << k; mask++) {
    const cols = [...Array(k).keys()].filter((j) => mask & (1 << j));
    const b = leastSquares(
      X.map((row) => cols.map((j) => row[j])),
      y,
    );
    if (!b || b.some((v) => v < 0)) continue;
    const full = new Array<number>(k).fill(0);
    cols.forEach((j, i) => (full[j] = b[i]));
    const err = X.reduce((s, row, i) => s + (dot(row, full) - y[i]) ** 2, 0);
    if (!best || err < best.err) best = { b: full, err };
  }
  return best?.b ?? new Array<number>(k).fill(0);
}

function dot(a: number[], b: number[]): number {
  return a.reduce((s, v, i) => s + v * b[i], 0);
}

/** Ordinary least squares by the normal equations (Gaussian elimination, partial pivoting); null if singular. */
function leastSquares(X: number[][], y: number[]): number[] | null {
  const k = X[0].length;
  const A = [...Array(k)].map((_, i) => [...Array(k)].map((_, j) => X.reduce((s, r) => s + r[i] * r[j], 0)));
  const v = [...Array(k)].map((_, i) => X.reduce((s, r, n) => s + r[i] * y[n], 0));
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    if (Math.abs(A[p][c]) < 1e-12 * Math.max(1, Math.abs(A[c][c]))) return null;
    [A[c], A[p]] = [A[p], A[c]];
    [v[c], v[p]] = [v[p], v[c]];
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = A[r][c] / A[c][c];
      for (let j = c; j < k; j++) A[r][j] -= f * A[c][j];
      v[r] -= f * v[c];
    }
  }
  return v.map((x, i) => x / A[i][i]);
}

/** What `fitRates` reads of one measured request (the engine's stats, decode steps timed one by one). */
export interface CostSample {
  imageFormat: ImageFormat;
  imagePixels: number;
  imageBytes: number;
  /** Pixels preprocessing read (the decoded image); default imagePixels. */
  inputPixels?: number;
  decodeImageMs: number;
  preprocessMs: number;
  visionMs: number;
  /** Rows of each vision encoder layer and each one's time without the vision reduction's own work. */
  visionRows: number[];
  visionLayersMs: number[];
  projectorMs: number;
  /** Rows entering each layer and each layer's time without its pruning part. */
  layerRows: number[];
  layerMs: number[];
  /** prefillMs minus the layers: the LM head. */
  headMs: number;
  /** Each decode step: KV rows read (decodeKvRows) and its milliseconds. */
  steps: { kvRows: number; ms: number }[];
}

/** Rates fitted to `samples` (least squares, non-negative). */
export function fitRates(samples: CostSample[]): CostRates {
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const pre = fitNonNegative(
    samples.map((s) => [1, (s.inputPixels ?? s.imagePixels) / MPX]),
    samples.map((s) => s.preprocessMs),
  );
  const decode: CostRates["decode"] = {};
  for (const f of ["png", "jpeg"] as const) {
    const ss = samples.filter((s) => s.imageFormat === f);
    if (!ss.length) continue;
    const d = fitNonNegative(
      ss.map((s) => [1, s.imagePixels / MPX, s.imageBytes / MB]),
      ss.map((s) => s.decodeImageMs),
    );
    decode[f] = { fixedMs: d[0], perMpxMs: d[1], perMBMs: d[2] };
  }
  const layerX: number[][] = [];
  const layerY: number[] = [];
  for (const s of samples)
    s.layerRows.forEach((r, l) => {
      layerX.push([1, r, r * r]);
      layerY.push(s.layerMs[l]);
    });
  const lay = fitNonNegative(layerX, layerY);
  const steps = samples.flatMap((s) => s.steps);
  const dec = steps.length
    ? fitNonNegative(
        steps.map((st) => [1, st.kvRows]),
        steps.map((st) => st.ms),
      )
    : [0, 0];
  const vx: number[][] = [];
  const vy: number[] = [];
  for (const s of samples)
    s.visionRows.forEach((r, l) => {
      vx.push([1, r, r * r]);
      vy.push(s.visionLayersMs[l]);
    });
  const vl = fitNonNegative(vx, vy);
  const proj = fitNonNegative(
    samples.map((s) => [1, s.visionRows[s.visionRows.length - 1]]),
    samples.map((s) => s.projectorMs),
  );
  return {
    decode,
    preprocess: { fixedMs: pre[0], perMpxMs: pre[1] },
    vision: {
      fixedMs: mean(
        samples.map((s) => Math.max(0, s.visionMs - s.visionLayersMs.reduce((a, b) => a + b, 0))),
      ),
      layers: samples[0]?.visionRows.length ?? 0,
      layer: { fixedMs: vl[0], perRowMs: vl[1], perRowSqMs: vl[2] },
      projector: { fixedMs: proj[0], perRowMs: proj[1] },
    },
    layer: { fixedMs: lay[0], perRowMs: lay[1], perRowSqMs: lay[2] },
    headMs: mean(samples.map((s) => s.headMs)),
    decode_step: { fixedMs: dec[0], perKvRowMs: dec[1] },
  };
}
