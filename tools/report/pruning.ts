// npm run report:pruning -- [--split test] [--limit N] [--weights weights] [--keep 0.15,0.25,0.35,0.5]
//                           [--methods atp,fastv,pdrop,random,grid] [--cache out/pruning] [--no-png]
// Sweeps each pruning method's knob on ShapesVQA (every method at each matched --keep fraction, via
// tools/eval/calibrate.ts; ATP also at budget 0, as trained; `none` once) and writes docs/pruning.md (the
// table, ratios against `none`, ATP's tokens per layer by family and by objects in the scene) and
// docs/pruning.png (accuracy vs tokens kept). Each run's JSON is cached under --cache, so an interrupted
// sweep resumes where it stopped (delete the folder to start over).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  isMethod,
  loadModel,
  METHODS,
  type MethodName,
  type Model,
  type PolicyKnobs,
} from "../../wasm/index";
import { knobsFor } from "../eval/calibrate";
import { loadSplit, type EvalItem } from "../eval/data";
import { FileSource, kernelModule } from "../eval/node";
import { evaluate, type EvalReport } from "../eval/run";
import { chartSvg, svgToPng } from "./chart";
import { renderMarkdown } from "./markdown";

const { values } = parseArgs({
  options: {
    split: { type: "string", default: "test" },
    limit: { type: "string" },
    weights: { type: "string", default: "weights" },
    data: { type: "string", default: "data" },
    keep: { type: "string", default: "0.15,0.25,0.35,0.5" },
    methods: { type: "string", default: "atp,fastv,pdrop,random,grid" },
    calibrate: { type: "string", default: "140" },
    cache: { type: "string", default: "out/pruning" },
    md: { type: "string", default: "docs/pruning.md" },
    png: { type: "string", default: "docs/pruning.png" },
    "no-png": { type: "boolean", default: false },
  },
});

/** Runs (or reads from the cache) one evaluation. */
async function cached(
  key: string,
  run: () => Promise<EvalReport & { target_keep?: number }>,
): Promise<EvalReport & { target_keep?: number }> {
  const path = `${values.cache}/${key}.json`;
  if (existsSync(path)) return JSON.parse(readFileSync(path, "utf8")) as EvalReport;
  const t0 = performance.now();
  const r = await run();
  console.error(
    `${key}: mean ${(100 * r.accuracy.mean).toFixed(1)}% at ${(100 * r.visual_tokens.mean_fraction).toFixed(1)}% tokens (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
  );
  writeFileSync(path, JSON.stringify(r, null, 2) + "\n");
  return r;
}

async function sweep(model: Model, items: EvalItem[], calib: EvalItem[]) {
  const split = values.split!;
  const run = (method: MethodName, knobs: PolicyKnobs) =>
    evaluate(model, items, method, split, () => {}, knobs);
  const none = await cached("none", () => run("none", {}));
  const atp0 = await cached("atp-budget0", () => run("atp", { budget: 0 }));
  const runs: (EvalReport & { target_keep?: number })[] = [];
  for (const keep of values.keep!.split(",").map(Number)) {
    for (const name of values.methods!.split(",")) {
      if (!isMethod(name)) throw new Error(`--methods: ${name} is not one of ${METHODS.join(", ")}`);
      const method = name;
      runs.push(
        await cached(`${method}-keep${keep}`, async () => {
          const knobs = await knobsFor(model, method, keep, calib);
          return { ...(await run(method, knobs)), target_keep: keep };
        }),
      );
    }
  }
  return { none, atp0, runs };
}

async function main(): Promise<void> {
  mkdirSync(values.cache!, { recursive: true });
  const split = values.split;
  if (split !== "val" && split !== "test") throw new Error("--split must be val or test");
  let items = loadSplit(values.data!, split);
  if (values.limit) items = items.slice(0, Number(values.limit));
  const calib = loadSplit(values.data!, "val").slice(0, Number(values.calibrate));
  const model = await loadModel(new FileSource(values.weights!), { kernels: kernelModule("relaxed") });
  const { none, atp0, runs } = await sweep(model, items, calib);
  writeFileSync(
    values.md!,
    renderMarkdown(none, atp0, runs, {
      layers: model.config.text.layers,
      numVisual: model.config.imageSeqLength,
    }),
  );
  console.error(`wrote ${values.md}`);
  if (!values["no-png"]) {
    const methods = [...new Set(runs.map((r) => r.method))];
    const series = methods.map((m) => ({
      name: m,
      points: runs
        .filter((r) => r.method === m)
        .concat(m === "atp" ? [atp0] : [])
        .map((r) => ({ x: r.visual_tokens.mean_fraction, y: r.accuracy.mean })),
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
  }
}

main().catch((err: Error) => {
  console.error(`report:pruning: ${err.message}`);
  process.exit(1);
});
