// npm run bench:cost -- --help prints the flags (USAGE below).
// The cost model (docs/cost.md) measured in workerd:
// 1. budget points: every method's knobs for each fraction of KEEPS (tools/eval/calibrate.ts, a measured
//    knob on --knob-questions val questions spread over the split, in Node: the counts do not depend on
//    the runtime; 40 left ATP's budget knob, steep near 25% after a vision reduction, 2.5 points off);
// 2. calibration in workerd (tools/bench/cost-worker.ts): those val questions at every point, as PNGs
//    decoded by the Worker's decoder, plus PNG and JPEG images of 0.01-4 Mpx; the rates fitted to them
//    (wasm/engine/cost.ts fitRates) and each point's counts, 95th-percentile ratio and pruning time;
// 3. the check in workerd, on --check test questions never used above: (a) predicted against measured
//    time to first token for every method at 25% (and none), planned before the request (the point's
//    counts), after it (its real counts) and at the model's pace (wasm/engine/pace.ts); (b) every method
//    under each --budgets CPU budget: the point chosen per request inside workerd as the Worker chooses it
//    (wasm/engine/budget.ts, at the isolate's pace: the check's model carries this run's table), accuracy,
//    CPU ms per request and the share that finished within the budget; docs/cpu-budget.png plots accuracy against CPU ms, one line per method, on the
//    short-answer questions (captions, planned with 24 tokens of decode, are refused first at tight budgets).
//    The calibration's and the check's requests run as listed, method by method (--order shuffled runs
//    each phase in one seeded shuffle, cost-measure.ts measureBracketed: a slow spell then falls on every
//    method alike, but on steady hosts its predictions came out worse, docs/cost.md), and 30 unpruned
//    sentinel requests run before and after the calibration and the check, 20 of them again after every
//    1,000 requests (cost-measure.ts speed probes): when their mean TTFT moves by more than 10% during the
//    calibration (whose requests the rates are fitted to), the host did not hold its speed and --write keeps
//    the old table's rates and timings, taking only this run's budget points into every row (--force writes
//    the new row anyway); a drift in the check only moves the check's figures, which the pace follows. The report also gives
//    the prediction scaled by the host's slowdown at each request (`planned_host_adjusted`, a diagnostic).
// --vision LAYER,TOKENS,MERGE (default 1,96,1; empty: none) gives every point a twin with that vision
// reduction (wasm/pruning/vision.ts) right after it, at the same fraction of visual tokens (its knobs set
// again after the reduction: knobsAt below): a budget that the point misses tries the twin before fewer
// LLM tokens (on test, the served ATP at 25% with 1,96,1: 93.0% vs 93.2 unreduced, 19% fewer vision MACs).
// --kernels simd measures the plain-SIMD build (KERNELS = "simd" in wrangler.toml). --write stores the
// table with the model (weights/cost.json, named in manifest.json; then `atp.cpu_budget_ms` works in the
// API), replacing the row of this runtime, build and host class (wasm/engine/cost.ts platformKey) and
// keeping the others' rates and timings with this run's budget points (withPointsOf: after new weights).
// Max tokens per request: 24 for captions, 4 otherwise (a client asking a one-word question sets a small
// max_tokens; the budget plans for all of them).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { encode as encodeJpeg } from "jpeg-js";
import {
  createPolicy,
  COST_FORMAT,
  fitRates,
  loadModel,
  measuredPruneMs,
  MemorySource,
  methodSpec,
  METHODS,
  predictCost,
  rowsPerLayer,
  type BudgetPoint,
  type CostSample,
  type CostTable,
  type ImageFormat,
  type MethodName,
  type Model,
  type PlatformCost,
  type PolicyKnobs,
  type VisionReduction,
  visionLayersRun,
  visionReduction,
  withPointsOf,
} from "../../wasm/index";
import { knobsFor } from "../eval/calibrate";
import { itemImage, loadSplit, type EvalItem } from "../eval/data";
import { kernelModule, type KernelBuild } from "../eval/node";
import { chartSvg, svgToPng } from "../report/chart";
import { rgbToPng, upscale } from "../shapesvqa/png";
import { score } from "../shapesvqa/score";
import { withCostTable } from "../convert/convert";
import type { CostJobRequest, CostRecord } from "./cost-worker";
import { readWeightFiles } from "./model-io";
import {
  hostDrift,
  hostName,
  measureBracketed,
  pacedRatios,
  resizeNearest,
  rgbaWithGrain,
  speedAt,
} from "./cost-measure";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run bench:cost [-- --weights weights] [--data data] [--calibrate 40] [--knob-questions 160] [--check 280]
    [--budgets 10,11,12,13,15,17.5,20,25,30] [--methods atp,grid,...] [--kernels relaxed|simd]
    [--order given|shuffled] [--write [--force]] [--json out/bench/cost.json] [--no-png] [--vision 1,96,1]`;

const { values } = parseFlags("bench:cost", USAGE, {
  weights: { type: "string", default: "weights" },
  data: { type: "string", default: "data" },
  calibrate: { type: "string", default: "40" },
  "knob-questions": { type: "string", default: "160" },
  check: { type: "string", default: "280" },
  budgets: { type: "string", default: "10,11,12,13,15,17.5,20,25,30" },
  methods: { type: "string" },
  kernels: { type: "string", default: "relaxed" },
  write: { type: "boolean", default: false },
  force: { type: "boolean", default: false },
  json: { type: "string", default: "out/bench/cost.json" },
  "no-png": { type: "boolean", default: false },
  vision: { type: "string", default: "1,96,1" },
  order: { type: "string", default: "given" },
});
if (values.order !== "shuffled" && values.order !== "given")
  throw new Error(`--order must be shuffled or given, got ${values.order}`);
/** The seed of a phase's order, or null to run its requests as listed (--order given). */
const orderSeed = (seed: number) => (values.order === "shuffled" ? seed : null);

/** Unpruned val requests run before and after the calibration and the check, to time the host. */
const SENTINELS = 30;
/** Most the calibration's sentinels' mean TTFT may move (max / min - 1) for --write to keep the table. */
const DRIFT_LIMIT = 0.1;
/** Seed of the calibration's order under --order shuffled. */
const CALIBRATION_ORDER_SEED = 20261206;
/** Seed of the check's order under --order shuffled (interleaved across methods and budgets). */
const CHECK_ORDER_SEED = 20261207;
/** The fractions of visual tokens (mean over LLM layers) each method gets a budget point at. */
const KEEPS = [1, 0.7, 0.5, 0.35, 0.25, 0.15, 0.11, 0.07];
/** Sides of the square images whose decode and preprocessing the rates are fitted on (0.01-4 Mpx). */
const IMAGE_SIDES = [96, 256, 512, 1024, 2048];
const MAX_TOKENS = (it: EvalItem) => (it.family === "caption" ? 24 : 4);

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : 0;
};
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

/** Every `n`-th question so that `count` spread over the split (families interleave in it). */
function spread(items: EvalItem[], count: number): EvalItem[] {
  const step = Math.max(1, Math.floor(items.length / count));
  return items.filter((_, i) => i % step === 0).slice(0, count);
}

/** The image of an item as PNG, keyed by its index in the split. */
function pngOf(images: Map<string, Uint8Array>, split: string, it: EvalItem): string {
  const key = `__img.${split}.${it.imageIndex}.png`;
  if (!images.has(key)) images.set(key, rgbToPng(96, 96, it.image));
  return key;
}

/** What fitRates reads of a measured record. */
function sampleOf(r: CostRecord, format: ImageFormat, numVisual: number): CostSample {
  const t = r.timings;
  const layerRows = rowsPerLayer({
    promptTokens: r.promptTokens,
    numVisual,
    visualPerLayer: r.visualPerLayer,
  });
  const kv0 = layerRows.reduce((a, b) => a + b, 0);
  const L = layerRows.length;
  return {
    imageFormat: format,
    imagePixels: r.imagePixels,
    imageBytes: r.imageBytes,
    inputPixels: r.inputPixels,
    decodeImageMs: r.decodeImageMs,
    preprocessMs: t.preprocessMs,
    visionMs: t.visionMs - t.visionReduceMs,
    visionRows: r.visionRows,
    // the reduction's matching is the point's own work (in its pruneMs), not the layer's
    visionLayersMs: t.visionLayersMs.map((ms, l) => ms - (l === r.visionReduceLayer ? t.visionReduceMs : 0)),
    projectorMs: t.projectorMs,
    layerRows,
    layerMs: t.llmLayersMs.map((ms, l) => ms - t.pruneMsPerLayer[l]),
    headMs: t.prefillMs - t.llmLayersMs.reduce((a, b) => a + b, 0),
    steps: r.tokenMs.slice(1).map((ms, i) => ({ kvRows: kv0 + L * (i + 1), ms })),
  };
}

/**
 * Visual tokens entering each layer, mean over `items` rounded, for `method` with `knobs` after `vision`
 * (Node, prefill only).
 */
async function meanCounts(
  model: Model,
  method: MethodName,
  knobs: object,
  items: EvalItem[],
  vision: VisionReduction | null = null,
): Promise<number[]> {
  const sums: number[] = [];
  for (const it of items) {
    const done = await model.run(itemImage(it), it.qIds, {
      maxTokens: 1,
      policy: createPolicy(method, knobs),
      vision,
    });
    done.stats.visualTokens.perLayer.forEach((v, l) => (sums[l] = (sums[l] ?? 0) + v));
  }
  return sums.map((v) => Math.round(v / items.length));
}

/** The work a measured request really did (its counts and decode steps, stop token included). */
function actualWork(r: CostRecord, numVisual: number, pruneMs: number) {
  return {
    imageFormat: "png" as const,
    imagePixels: r.imagePixels,
    imageBytes: r.imageBytes,
    inputPixels: r.inputPixels,
    promptTokens: r.promptTokens,
    numVisual,
    visualPerLayer: r.visualPerLayer,
    visionRows: r.visionRows,
    pruneMs,
    tokens: r.generatedTokens + 1,
  };
}

/** CPU ms of a measured request: image decode + the engine's ttft and every decode step. */
const cpuMs = (r: CostRecord) => r.decodeImageMs + r.timings.totalMs;

async function main(): Promise<void> {
  const weights = readWeightFiles(values.weights!);
  // measured afresh; the model loads without it. Rows of other platforms (another kernel build or
  // runtime) in the current table stay when --write replaces this one's, if the table's format is current.
  const previous = weights.get("cost.json");
  weights.delete("cost.json");
  const manifest = JSON.parse(new TextDecoder().decode(weights.get("manifest.json"))) as {
    model_id: string;
    cost?: string;
    files: Record<string, unknown>;
  };
  delete manifest.cost;
  delete manifest.files["cost.json"];
  weights.set("manifest.json", new TextEncoder().encode(JSON.stringify(manifest)));
  // the files without their cost table: a stale one (older format) must not stop its own remeasuring
  const model = await loadModel(new MemorySource(weights), {
    kernels: kernelModule(values.kernels as KernelBuild),
  });
  const N = model.config.imageSeqLength;
  const methods = (values.methods?.split(",") ?? METHODS).filter(
    (m): m is MethodName =>
      (METHODS as string[]).includes(m) && !methodSpec(m as MethodName).unavailable?.(model.config),
  );
  const val = loadSplit(values.data!, "val");
  const calib = spread(val, Number(values.calibrate));
  const knobSet = spread(val, Number(values["knob-questions"]));
  const check = spread(loadSplit(values.data!, "test"), Number(values.check));
  const images = new Map<string, Uint8Array>();

  // 1. knobs per method and fraction (Node)
  type Rung = { keep: number; knobs: PolicyKnobs; vision?: VisionReduction };
  const ladder = new Map<MethodName, Rung[]>();
  const [vl, vt, vm] = values.vision!.split(",").map(Number);
  const twin = values.vision
    ? visionReduction({ layer: vl, tokens: vt, merge: vm ?? 0 }, model.config, visionLayersRun(model.config))
    : null;
  /**
   * The knobs of `m` for fraction `keep` after `vision` (null: none): a measured knob on the knob
   * questions, a schedule's closed form (bisected after a reduction, on the calibration questions: a
   * schedule's count varies little by question); a per-instance method (random copies ATP's counts per
   * question) gets the counts its source keeps on the calibration questions, as fixed knobs: the API has no
   * source run per request.
   */
  const knobsAt = async (
    m: MethodName,
    keep: number,
    vision: VisionReduction | null,
  ): Promise<PolicyKnobs> => {
    const measured = methodSpec(m).keep?.by === "measure";
    let knobs = await knobsFor(model, m, keep, measured ? knobSet : calib, {}, "mean", vision);
    const per = methodSpec(m).perInstance;
    if (per?.applies(knobs))
      knobs = per.knobs(
        await meanCounts(model, per.method as MethodName, per.source(knobs), calib, vision),
        knobs,
        0,
      );
    return knobs;
  };
  /**
   * Each point followed by its twin with the vision reduction (methods that read the whole vision output:
   * none): the same fraction of visual tokens, its knobs set again after the reduction, since a reduced
   * tower changes what a measured knob keeps and which places a schedule finds.
   */
  const withTwins = async (m: MethodName, pts: Rung[]): Promise<Rung[]> => {
    if (!twin || createPolicy(m, pts[0].knobs).afterVision) return pts;
    const out: Rung[] = [];
    for (const p of pts) out.push(p, { ...p, knobs: await knobsAt(m, p.keep, twin), vision: twin });
    return out;
  };
  for (const m of methods) {
    if (!methodSpec(m).keep) {
      ladder.set(m, await withTwins(m, [{ keep: 1, knobs: {} }]));
      continue;
    }
    const pts: Rung[] = [];
    for (const keep of KEEPS) {
      const knobs = await knobsAt(m, keep, null);
      // a knob at its end of range gives the same point for every smaller fraction: keep it once
      if (!pts.some((p) => JSON.stringify(p.knobs) === JSON.stringify(knobs))) pts.push({ keep, knobs });
    }
    ladder.set(m, await withTwins(m, pts));
    console.log(
      `points ${m}: ${pts.map((p) => JSON.stringify(p.knobs)).join(" ")}${twin && ladder.get(m)!.length > pts.length ? `, each also after vision ${values.vision}` : ""}`,
    );
  }

  // 2. calibration in workerd: every point on the val questions, and the image sizes
  const calReqs: CostJobRequest[] = [];
  const calMeta: { method: MethodName; point: number; format: ImageFormat }[] = [];
  for (const m of methods)
    ladder.get(m)!.forEach((p, pi) => {
      for (const it of calib) {
        calReqs.push({
          image: pngOf(images, "val", it),
          qIds: it.qIds,
          method: m,
          knobs: p.knobs,
          maxTokens: MAX_TOKENS(it),
          ...(p.vision ? { vision: p.vision } : {}),
        });
        calMeta.push({ method: m, point: pi, format: "png" });
      }
    });
  const base = calib[0];
  for (const side of IMAGE_SIDES) {
    const f = side / 96;
    const rgb = Number.isInteger(f) ? upscale(96, 96, base.image, f) : resizeNearest(base.image, side);
    images.set(`__img.side${side}.png`, rgbToPng(side, side, rgb));
    // JPEGs of one size at two entropies (flat and with grain): decode time follows bytes and pixels apart
    for (const noise of [0, 6]) {
      const rgba = rgbaWithGrain(rgb, noise, side);
      const jpeg = encodeJpeg({ data: rgba, width: side, height: side }, 90).data;
      images.set(`__img.side${side}.g${noise}.jpeg`, new Uint8Array(jpeg));
    }
    for (const [format, key] of [
      ["png", "png"],
      ["jpeg", "g0.jpeg"],
      ["jpeg", "g6.jpeg"],
    ] as const)
      for (let rep = 0; rep < 3; rep++) {
        calReqs.push({
          image: `__img.side${side}.${key}`,
          qIds: base.qIds,
          method: "none",
          knobs: {},
          maxTokens: 1,
        });
        calMeta.push({ method: "none", point: -1, format });
      }
  }
  // the host's speed through the run: the same unpruned requests before and after each phase
  const sentinels: CostJobRequest[] = calib.slice(0, SENTINELS).map((it) => ({
    image: pngOf(images, "val", it),
    qIds: it.qIds,
    method: "none",
    knobs: {},
    maxTokens: 1,
  }));
  console.log(`calibration: ${calReqs.length} requests in workerd`);
  const kernels = values.kernels as KernelBuild;
  // in the same order as the check (both as listed, or both shuffled), so both run under the same conditions
  const cal = await measureBracketed(
    weights,
    images,
    calReqs,
    kernels,
    sentinels,
    orderSeed(CALIBRATION_ORDER_SEED),
  );
  const rates = fitRates(cal.records.map((r, i) => sampleOf(r, calMeta[i].format, N)));
  const methodPoints: Record<string, BudgetPoint[]> = {};
  for (const m of methods) {
    methodPoints[m] = ladder.get(m)!.map((p, pi) => {
      const recs = cal.records.filter((_, i) => calMeta[i].method === m && calMeta[i].point === pi);
      const L = recs[0].visualPerLayer.length;
      const per = [...Array(L).keys()].map((l) => mean(recs.map((r) => r.visualPerLayer[l])));
      const sums = recs.map((r) => r.visualPerLayer.reduce((a, b) => a + b, 0));
      return {
        keep: p.keep,
        countBy: "mean",
        knobs: p.knobs as Record<string, number | number[]>,
        visualPerLayer: per.map((v) => round(v, 2)),
        p95Ratio: round(quantile(sums, 0.95) / mean(sums), 4),
        pruneMs: round(mean(recs.map((r) => measuredPruneMs(r.timings))), 4),
        ...(p.vision ? { vision: p.vision, visionRows: recs[0].visionRows } : {}),
      };
    });
  }
  // the prediction's error on the calibration requests at their real counts, around a plan made at the
  // pace (as chooseBudget plans): its 95th percentile ratio is the row's safety factor
  const ratios = pacedRatios(
    cal.records.map((r, i) => {
      const { method, point } = calMeta[i];
      const t = r.timings;
      // as the model observes (its own pruning time), and as the budget plans (the point's)
      const seen = predictCost(rates, actualWork(r, N, measuredPruneMs(t)));
      const planned =
        point < 0 ? seen : predictCost(rates, actualWork(r, N, methodPoints[method][point].pruneMs));
      return {
        position: cal.position[i],
        ttftMs: t.ttftMs,
        predictedTtftMs: seen.ttftMs,
        cpuMs: cpuMs(r),
        predictedCpuMs: planned.totalMs,
        counted: point >= 0, // the image-size requests feed the pace only
      };
    }),
  );
  const row: PlatformCost = {
    key: cal.platform,
    host: hostName(),
    measuredAt: new Date().toISOString(),
    rates,
    safety: round(Math.max(1, quantile(ratios, 0.95)), 4),
    methods: methodPoints,
  };
  const kept = previous ? (JSON.parse(new TextDecoder().decode(previous)) as CostTable) : null;
  // the old table's rows with this run's budget points, if it is of this format and model
  const carried =
    kept?.format === COST_FORMAT && kept.modelId === manifest.model_id
      ? kept.platforms.map((p) => withPointsOf(p, methodPoints, row.measuredAt))
      : null;
  // the other host classes keep their rates and timings; their budget points (knobs and counts: the
  // weights', not the host's) become this run's, so that new weights leave no row planning with old counts
  const others = (carried ?? []).filter((p) => p.key !== row.key);
  const table: CostTable = { format: COST_FORMAT, modelId: manifest.model_id, platforms: [row, ...others] };
  console.log(`rates (${row.key}, ${row.host}): ${JSON.stringify(rates)}`);

  // 3a. predicted vs measured TTFT at 25% (the point nearest it) and none, on test
  const reqOf = (it: EvalItem, m: MethodName, p: BudgetPoint): CostJobRequest => ({
    image: pngOf(images, "test", it),
    qIds: it.qIds,
    method: m,
    knobs: p.knobs,
    maxTokens: MAX_TOKENS(it),
    ...(p.vision ? { vision: p.vision } : {}),
  });
  // the point nearest 25% without a vision reduction (its twin is checked by the budgets)
  const at25 = (m: MethodName) =>
    methodPoints[m]
      .filter((p) => !p.vision)
      .reduce((a, b) => (Math.abs(b.keep - 0.25) < Math.abs(a.keep - 0.25) ? b : a));
  const predReqs: CostJobRequest[] = [];
  const predMeta: { method: MethodName; point: BudgetPoint; it: EvalItem }[] = [];
  for (const m of methods) {
    const point = at25(m);
    for (const it of check) {
      predReqs.push(reqOf(it, m, point));
      predMeta.push({ method: m, point, it });
    }
  }
  // 3b. budgets: each request planned in workerd at the isolate's pace, as the Worker plans one
  const budgets = values.budgets!.split(",").map(Number);
  const budReqs: CostJobRequest[] = [];
  const budMeta: { method: MethodName; budget: number; it: EvalItem }[] = [];
  for (const m of methods)
    for (const b of budgets)
      for (const it of check) {
        budReqs.push({ ...reqOf(it, m, at25(m)), cpuBudgetMs: b });
        budMeta.push({ method: m, budget: b, it });
      }
  console.log(`check: ${predReqs.length + budReqs.length} requests in workerd`);
  // as listed, or shuffled with --order shuffled (cost-measure.ts)
  // the check's model carries this run's table: budget requests plan with it, and every request's
  // measured TTFT against it moves the model's pace (wasm/engine/pace.ts)
  const checkWeights = withCostTable(weights, new TextEncoder().encode(JSON.stringify(table)));
  const chk = await measureBracketed(
    checkWeights,
    images,
    [...predReqs, ...budReqs],
    kernels,
    sentinels,
    orderSeed(CHECK_ORDER_SEED),
  );
  const sentinelMs = [cal.before, cal.after, chk.before, chk.after].map((b) =>
    round(mean(b.map((r) => r.timings.ttftMs))),
  );
  // every probe of both phases, the ends included: a spell in mid-phase counts too
  const probeMs = [...cal.probes, ...chk.probes].map((p) => p.ttftMs);
  const drift = round(hostDrift(probeMs), 4);
  // the guard's: the rates are fitted to the calibration's requests alone
  const calibrationDrift = round(hostDrift(cal.probes.map((p) => p.ttftMs)), 4);
  console.log(
    `host: sentinel TTFT ${sentinelMs.join(", ")} ms (calibration start/end, check start/end), ` +
      `${probeMs.length} probes ${round(Math.min(...probeMs))}-${round(Math.max(...probeMs))} ms: drift ${(100 * drift).toFixed(1)}% (calibration ${(100 * calibrationDrift).toFixed(1)}%)`,
  );
  // the speed the rates were fitted at (the calibration's probes), and how much slower the host ran when
  // each check request did: the prediction scaled by it tells the model's error apart from the host's
  const calSpeed = mean(cal.probes.map((p) => p.ttftMs));
  const slowdown = (i: number) => speedAt(chk.probes, chk.position[i]) / calSpeed;
  const predRecs = chk.records.slice(0, predReqs.length);
  const budRecs = chk.records.slice(predReqs.length);

  const prediction: Record<string, object> = {};
  for (const m of methods) {
    const rows = predMeta.map((p, i) => ({ p, r: predRecs[i], i })).filter((x) => x.p.method === m);
    const errs = (planned: boolean, scale: "none" | "probes" | "pace" = "none") =>
      rows.map(({ p, r, i }) => {
        const work = {
          ...actualWork(r, N, p.point.pruneMs),
          ...(planned ? { visualPerLayer: p.point.visualPerLayer } : {}),
        };
        const pred = predictCost(rates, work);
        const f = scale === "probes" ? slowdown(i) : scale === "pace" ? r.pace : 1;
        return { ttft: (f * pred.ttftMs) / r.timings.ttftMs - 1, total: (f * pred.totalMs) / cpuMs(r) - 1 };
      });
    const summary = (e: { ttft: number; total: number }[]) => ({
      ttft_within_15pct: round(mean(e.map((x) => (Math.abs(x.ttft) <= 0.15 ? 1 : 0)))),
      ttft_median_abs_error: round(
        quantile(
          e.map((x) => Math.abs(x.ttft)),
          0.5,
        ),
      ),
      ttft_p90_abs_error: round(
        quantile(
          e.map((x) => Math.abs(x.ttft)),
          0.9,
        ),
      ),
      total_within_15pct: round(mean(e.map((x) => (Math.abs(x.total) <= 0.15 ? 1 : 0)))),
    });
    prediction[m] = {
      keep: at25(m).keep,
      measured_ttft_ms: round(mean(rows.map((x) => x.r.timings.ttftMs))),
      measured_cpu_ms: round(mean(rows.map((x) => cpuMs(x.r)))),
      // the table's prediction from the point's counts, as measured
      planned: summary(errs(true)),
      actual_counts: summary(errs(false)),
      // planned, times the model's pace when the request started (the isolate's own view of the host:
      // what a budget plans with, wasm/engine/pace.ts)
      planned_paced: summary(errs(true, "pace")),
      // planned, each prediction scaled by the host's slowdown when its request ran (the probes): what
      // the model's terms miss, without the host's changes of speed (a diagnostic)
      planned_host_adjusted: summary(errs(true, "probes")),
    };
  }
  const budgetRows: Record<string, object[]> = {};
  const shortTotal = check.filter((it) => it.family !== "caption").length;
  const series = [];
  for (const m of methods) {
    budgetRows[m] = [];
    const pts = [];
    for (const b of budgets) {
      const cell = budMeta
        .map((p, i) => ({ p, r: budRecs[i], c: budRecs[i].budget! }))
        .filter((x) => x.p.method === m && x.p.budget === b);
      const rows = cell.filter((x) => !x.c.refused);
      const nRefused = cell.length - rows.length;
      if (!rows.length) {
        budgetRows[m].push({ budget_ms: b, refused: nRefused });
        continue;
      }
      const scoreOf = (xs: typeof rows) =>
        score(xs.map(({ p, r }) => ({ family: p.it.family, answer: p.it.answer, prediction: r.text })));
      const acc = scoreOf(rows);
      // the short-answer families apart: captions (24 tokens of decode planned) are refused first, so the
      // answered set changes with the budget; the curve compares the same questions at every budget
      const short = rows.filter((x) => x.p.it.family !== "caption");
      const cpu = rows.map((x) => cpuMs(x.r));
      const entry = {
        budget_ms: b,
        answered: rows.length,
        refused: nRefused,
        accuracy: round(acc.meanExact, 4),
        short_answered: short.length,
        accuracy_short: round(scoreOf(short).meanExact, 4),
        cpu_ms_mean_short: round(mean(short.map((x) => cpuMs(x.r)))),
        cpu_ms_mean: round(mean(cpu)),
        cpu_ms_p95: round(quantile(cpu, 0.95)),
        within_budget: round(mean(cpu.map((c) => (c <= b ? 1 : 0))), 4),
        predicted_ms_mean: round(mean(rows.map((x) => x.c.predictedMs))),
        pace_mean: round(mean(cell.map((x) => x.r.pace))),
        mean_fraction: round(mean(rows.map((x) => mean(x.r.visualPerLayer) / N)), 4),
        with_vision_reduction: round(mean(rows.map((x) => (x.c.vision ? 1 : 0))), 4),
      };
      budgetRows[m].push(entry);
      if (short.length === shortTotal) pts.push({ x: entry.cpu_ms_mean_short, y: entry.accuracy_short });
    }
    series.push({ name: m, points: pts });
  }
  const report = {
    runtime: `workerd (local), kernels ${values.kernels}`,
    host: row.host,
    platform: row.key,
    calibration_questions: calib.length,
    check_questions: check.length,
    max_tokens: "24 for captions, 4 otherwise",
    rates,
    host_drift: {
      sentinel_ttft_ms: sentinelMs,
      probes: {
        calibration: cal.probes.map((p) => ({ at: p.at, ttft_ms: round(p.ttftMs) })),
        check: chk.probes.map((p) => ({ at: p.at, ttft_ms: round(p.ttftMs) })),
      },
      drift,
      calibration_drift: calibrationDrift,
      limit: DRIFT_LIMIT,
    },
    prediction,
    budgets: budgetRows,
    table,
  };
  mkdirSync(dirname(values.json!), { recursive: true });
  writeFileSync(values.json!, JSON.stringify(report, null, 2) + "\n");
  console.log(JSON.stringify({ prediction, budgets: budgetRows }, null, 1));
  const steady = calibrationDrift <= DRIFT_LIMIT;
  // a host that did not hold its speed leaves every row's rates and timings as they were, but the budget
  // points (counts: the weights', not the host's) are still this run's, so new weights get their own
  const written: CostTable | null = !values.write
    ? null
    : steady || values.force
      ? table
      : carried && { format: COST_FORMAT, modelId: manifest.model_id, platforms: carried };
  if (values.write && !steady && !values.force)
    console.error(
      `bench:cost: the host's speed moved ${(100 * calibrationDrift).toFixed(1)}% during the calibration (limit ${100 * DRIFT_LIMIT}%): ` +
        (written
          ? "weights/cost.json keeps its rates, with this run's budget points"
          : "weights/cost.json NOT written (no table to keep)") +
        " (rerun on a steadier host, or --force)",
    );
  if (written) {
    // the manifest as the converter wrote it, plus the cost entry
    const path = join(values.weights!, "manifest.json");
    const original = JSON.parse(readFileSync(path, "utf8")) as typeof manifest;
    delete original.cost;
    delete original.files["cost.json"];
    const files = withCostTable(
      new Map([["manifest.json", new TextEncoder().encode(JSON.stringify(original, null, 2) + "\n")]]),
      new TextEncoder().encode(JSON.stringify(written, null, 2) + "\n"),
    );
    for (const [k, v] of files) writeFileSync(join(values.weights!, k), v);
    console.log(`wrote ${values.weights}/cost.json and its manifest entry`);
  }
  // the chart goes with the table: not redrawn from a run whose table --write refused
  if (!values["no-png"] && (!values.write || steady || values.force)) {
    const svg = chartSvg(series, {
      title: `Accuracy under atp.cpu_budget_ms (${row.key}, ${row.host}), ${shortTotal} short-answer test questions`,
      xLabel: "CPU ms per request (mean; image decode, prefill, decode), one point per budget",
      yLabel: "accuracy",
      xTick: (x) => `${x}`,
      dots: true,
    });
    try {
      svgToPng(svg, "docs/cpu-budget.png");
    } catch (err) {
      // the table and the JSON are written; the chart needs Debian's chromium (.ci/run installs it)
      console.error(`bench:cost: docs/cpu-budget.png not drawn: ${(err as Error).message}`);
    }
  }
}

main().catch((err: Error) => {
  console.error(`bench:cost: ${err.stack ?? err.message}`);
  process.exit(1);
});
