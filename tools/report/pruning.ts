// npm run report:pruning -- --help prints the flags (USAGE below).
// Sweeps every pruning method of the registry (or --methods) on ShapesVQA at each --keep fraction under
// both countings of the budget (the mean over LLM layers, ATP-LLaVA's; the tokens entering the LLM, the
// pre-LLM methods'), each method's knob set by its --keep rule (tools/eval/calibrate.ts; measured rules
// on `val`), ATP also at budget 0 as trained, `none` once; and writes docs/pruning.md (tables with ratios
// against `none`, ATP's tokens per layer by family and by objects), docs/pruning.png (accuracy against
// the mean fraction, one curve per method) and docs/pruning-map.png (which tokens each method kept on a
// few test images at 25%). Each run's JSON is cached under --cache by method and knobs, so an interrupted
// sweep resumes and a run both countings share is made once (delete the folder to start over).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import {
  gridSide,
  isMethod,
  loadModel,
  methodSpec,
  METHODS,
  type CountBy,
  type MethodName,
  type Model,
  type PolicyKnobs,
} from "../../wasm/index";
import { knobsFor } from "../eval/calibrate";
import { loadSplit, type EvalItem } from "../eval/data";
import { FileSource, kernelModule } from "../eval/node";
import { evaluate, type EvalReport } from "../eval/run";
import { chartSvg, svgToPng } from "./chart";
import { keptTokens, mapSvg } from "./map";
import { renderMarkdown, type SweepRun } from "./markdown";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run report:pruning -- [--split test] [--limit N] [--weights weights] [--keep 0.11,0.15,0.25,0.35,0.5]
    [--methods atp,fastv,...] [--cache out/pruning] [--no-png]`;

const { values } = parseFlags("report:pruning", USAGE, {
  split: { type: "string", default: "test" },
  limit: { type: "string" },
  weights: { type: "string", default: "weights" },
  data: { type: "string", default: "data" },
  keep: { type: "string", default: "0.11,0.15,0.25,0.35,0.5" },
  methods: { type: "string", default: METHODS.filter((m) => methodSpec(m).keep).join(",") },
  calibrate: { type: "string", default: "140" },
  cache: { type: "string", default: "out/pruning" },
  md: { type: "string", default: "docs/pruning.md" },
  png: { type: "string", default: "docs/pruning.png" },
  map: { type: "string", default: "docs/pruning-map.png" },
  "map-images": { type: "string", default: "3" },
  "no-png": { type: "boolean", default: false },
});

const COUNTINGS: CountBy[] = ["mean", "input"];

/** Runs (or reads from the cache) one evaluation. */
async function cached(key: string, run: () => Promise<EvalReport>): Promise<EvalReport> {
  const path = `${values.cache}/${key.replace(/[^\w.-]+/g, "_")}.json`;
  if (existsSync(path)) return JSON.parse(readFileSync(path, "utf8")) as EvalReport;
  const t0 = performance.now();
  const r = await run();
  console.error(
    `${key}: mean ${(100 * r.accuracy.mean).toFixed(1)}% at ${(100 * r.visual_tokens.mean_fraction).toFixed(1)}% tokens (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
  );
  writeFileSync(path, JSON.stringify(r, null, 2) + "\n");
  return r;
}

async function sweep(model: Model, items: EvalItem[], calib: EvalItem[], methods: MethodName[]) {
  const split = values.split!;
  const run = (method: MethodName, knobs: PolicyKnobs) =>
    cached(`${method}-${JSON.stringify(knobs)}`, () =>
      evaluate(model, items, method, split, () => {}, knobs),
    );
  const none = await run("none", {});
  const atp0 = await run("atp", { budget: 0 });
  const runs: SweepRun[] = [];
  for (const count_by of COUNTINGS) {
    for (const target_keep of values.keep!.split(",").map(Number)) {
      for (const method of methods) {
        const rule = methodSpec(method).keep;
        if (!rule || !(rule.countBy ?? ["mean"]).includes(count_by)) continue;
        const knobs = await cachedKnobs(`${method}-${count_by}-${target_keep}`, () =>
          knobsFor(model, method, target_keep, calib, {}, count_by),
        );
        runs.push({ ...(await run(method, knobs)), target_keep, count_by });
      }
    }
  }
  return { none, atp0, runs };
}

/** Knobs calibrated once per method, counting and target (a measured calibration takes a while). */
async function cachedKnobs(key: string, calibrate: () => Promise<PolicyKnobs>): Promise<PolicyKnobs> {
  const path = `${values.cache}/knobs-${key}.json`;
  if (existsSync(path)) return JSON.parse(readFileSync(path, "utf8")) as PolicyKnobs;
  const k = await calibrate();
  writeFileSync(path, JSON.stringify(k) + "\n");
  return k;
}

async function main(): Promise<void> {
  mkdirSync(values.cache!, { recursive: true });
  const split = values.split;
  if (split !== "val" && split !== "test") throw new Error("--split must be val or test");
  const methods = values.methods!.split(",").map((m) => {
    if (!isMethod(m)) throw new Error(`--methods: ${m} is not one of ${METHODS.join(", ")}`);
    return m;
  });
  let items = loadSplit(values.data!, split);
  if (values.limit) items = items.slice(0, Number(values.limit));
  const calib = loadSplit(values.data!, "val").slice(0, Number(values.calibrate));
  const model = await loadModel(new FileSource(values.weights!), { kernels: kernelModule("relaxed") });
  const { none, atp0, runs } = await sweep(model, items, calib, methods);
  const c = model.config;
  writeFileSync(
    values.md!,
    renderMarkdown(none, atp0, runs, { layers: c.text.layers, numVisual: c.imageSeqLength }),
  );
  console.error(`wrote ${values.md}`);
  if (values["no-png"]) return;
  const series = methods.map((m) => ({
    name: m,
    points: runs
      .filter((r) => r.method === m && r.count_by === "mean")
      .concat(m === "atp" ? [{ ...atp0, target_keep: 0, count_by: "mean" as const }] : [])
      .map((r) => ({ x: r.visual_tokens.mean_fraction, y: r.accuracy.mean }))
      .sort((a, b) => a.x - b.x),
  }));
  const svg = chartSvg(series, {
    title: `ShapesVQA ${values.split} (${none.count} questions)`,
    xLabel: "mean visual tokens kept over LLM layers",
    yLabel: "mean accuracy (%)",
    xTick: (x) => `${(100 * x).toFixed(0)}%`,
    xMax: 1,
    reference: { y: none.accuracy.mean, label: "none (all tokens)" },
  });
  svgToPng(svg, values.png!);
  console.error(`wrote ${values.png}`);
  // the pruning map: the runs nearest 25% (mean counting), on the first images of the split
  const columns = methods.flatMap((m) => {
    const r = runs
      .filter((x) => x.method === m && x.count_by === "mean")
      .sort((a, b) => Math.abs(a.target_keep - 0.25) - Math.abs(b.target_keep - 0.25))[0];
    return r ? [{ method: m, knobs: r.knobs ?? {}, label: m }] : [];
  });
  const firstOfEach = items.filter((it, i) => i === 0 || it.imageIndex !== items[i - 1].imageIndex);
  const mapItems = firstOfEach.slice(0, Number(values["map-images"]));
  const kept = await keptTokens(model, mapItems, columns);
  svgToPng(mapSvg(mapItems, columns, kept, gridSide(c.imageSeqLength), c.vision.imageSize), values.map!);
  console.error(`wrote ${values.map}`);
}

main().catch((err: Error) => {
  console.error(`report:pruning: ${err.message}`);
  process.exit(1);
});
