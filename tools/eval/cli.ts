// npm run eval -- (--split val|test | --seed S --count N) [--method none] [--weights weights]
//                 [--precision int8|f32] [--limit N] [--kernels relaxed|simd] [--data data] [--json FILE]
//                 [--keep F] [--budget B] [--k K] [--ratio R] [--stages 0,2,4] [--lambda L]
//                 [--layer L] [--tokens N] [--calibrate N]
// Evaluates the engine on ShapesVQA with one pruning method; prints a table per family and writes the
// JSON report (tools/eval/run.ts) to --json. Knobs: atp --budget; fastv --k --ratio (share dropped);
// pdrop --stages --lambda (share kept per stage); grid --layer --tokens; random copies ATP's per-layer
// counts at --budget. --keep F sets each method's own knob for a mean fraction F of visual tokens over all
// LLM layers (tools/eval/calibrate.ts; ATP/random calibrate on the first --calibrate val questions).
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadModel } from "../../wasm/loader";
import { METHODS, type MethodName, type PolicyKnobs } from "../../wasm/pruning/policy";
import { knobsFor } from "./calibrate";
import { generateItems, loadSplit } from "./data";
import { FileSource, kernelModule, type KernelBuild } from "./node";
import { evaluate, formatReport } from "./run";

const { values } = parseArgs({
  options: {
    split: { type: "string" },
    seed: { type: "string" },
    count: { type: "string" },
    method: { type: "string", default: "none" },
    weights: { type: "string", default: "weights" },
    precision: { type: "string", default: "int8" },
    kernels: { type: "string", default: "relaxed" },
    data: { type: "string", default: "data" },
    limit: { type: "string" },
    json: { type: "string" },
    keep: { type: "string" },
    budget: { type: "string" },
    k: { type: "string" },
    ratio: { type: "string" },
    stages: { type: "string" },
    lambda: { type: "string" },
    layer: { type: "string" },
    tokens: { type: "string" },
    calibrate: { type: "string", default: "140" },
  },
});

/** A finite number from a flag, or undefined when absent. */
function numFlag(name: string): number | undefined {
  const v = (values as Record<string, string | undefined>)[name];
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new Error(`--${name} must be a number`);
  return x;
}

/** The knobs given on the command line. */
function knobFlags(): PolicyKnobs {
  const k: PolicyKnobs = {};
  const set = <K extends keyof PolicyKnobs>(key: K, v: PolicyKnobs[K] | undefined) => {
    if (v !== undefined) k[key] = v;
  };
  set("budget", numFlag("budget"));
  set("k", numFlag("k"));
  set("ratio", numFlag("ratio"));
  set("lambda", numFlag("lambda"));
  set("layer", numFlag("layer"));
  set("tokens", numFlag("tokens"));
  if (values.stages) set("layers", values.stages.split(",").map(Number));
  return k;
}

async function main(): Promise<void> {
  const method = values.method as MethodName;
  if (!METHODS.includes(method)) throw new Error(`--method must be one of ${METHODS.join(", ")}`);
  const precision = values.precision;
  if (precision !== "int8" && precision !== "f32") throw new Error("--precision must be int8 or f32");
  let items;
  let split: string;
  if (values.seed !== undefined) {
    const count = Number(values.count ?? 700);
    items = generateItems(Number(values.seed), count);
    split = `seed-${values.seed}`;
  } else {
    split = values.split ?? "val";
    if (split !== "val" && split !== "test") throw new Error("--split must be val or test");
    items = loadSplit(values.data!, split);
  }
  if (values.limit) items = items.slice(0, Number(values.limit));
  const model = await loadModel(new FileSource(values.weights!), {
    kernels: kernelModule(values.kernels as KernelBuild),
    precision,
  });
  console.error(
    `loaded ${model.info.modelId} (${model.info.quantization}) in ${model.info.loadMs.toFixed(0)} ms`,
  );
  let knobs = knobFlags();
  const keep = numFlag("keep");
  if (keep !== undefined) {
    const calib = loadSplit(values.data!, "val").slice(0, Number(values.calibrate));
    knobs = await knobsFor(model, method, keep, calib, knobs);
    console.error(`--keep ${keep}: ${method} knobs ${JSON.stringify(knobs)}`);
  }
  const report = await evaluate(
    model,
    items,
    method,
    split,
    (n) => {
      if (n % 100 === 0) console.error(`  ${n}/${items.length}`);
    },
    knobs,
  );
  console.log(formatReport(report));
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2) + "\n");
}

main().catch((err: Error) => {
  console.error(`eval: ${err.message}`);
  process.exit(1);
});
