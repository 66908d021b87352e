// npm run eval -- --help prints the flags (USAGE below).
// Evaluates the engine on ShapesVQA with one pruning method; prints a table per family and writes the
// JSON report (tools/eval/run.ts) to --json. The split is generated into --data first when missing, the
// kernels are built when stale. --knob sets one of the method's knobs (its table in
// wasm/pruning/<method>.ts; lists comma-separated: --knob layers=0,2,4), checked by the registry;
// --budget B is --knob budget=B. --keep F sets the method's own knob for a mean fraction F of visual
// tokens over all LLM layers (--count-by mean, ATP-LLaVA's counting) or entering the first layer
// (--count-by input, the pre-LLM methods' counting) (tools/eval/calibrate.ts; measured rules calibrate on
// the first --calibrate val questions). --vision drops (MERGE 1: merges) all but TOKENS patches after
// vision encoder layer LAYER, before the method runs (wasm/pruning/vision.ts).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  isMethod,
  loadModel,
  methodSpec,
  METHODS,
  validatedKnobs,
  visionLayersRun,
  visionReduction,
  type MethodName,
  type PolicyKnobs,
} from "../../wasm/index";
import { parseFlags } from "../flags";
import { knobsFor } from "./calibrate";
import { generateItems, loadSplit } from "./data";
import { FileSource, kernelModule, type KernelBuild } from "./node";
import { evaluate, formatReport } from "./run";

const USAGE = `usage: npm run eval -- (--split val|test | --seed S --count N) [--method none] [--weights weights]
         [--precision int8|f32] [--limit N] [--kernels relaxed|simd] [--data data] [--json FILE]
         [--knob NAME=VALUE ...] [--budget B] [--keep F [--count-by mean|input]] [--calibrate N]
         [--vision LAYER,TOKENS[,MERGE]]
methods: ${METHODS.join(", ")}`;

const OPTIONS = {
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
  knob: { type: "string", multiple: true, default: [] as string[] },
  budget: { type: "string" },
  "count-by": { type: "string", default: "mean" },
  vision: { type: "string" },
  calibrate: { type: "string", default: "140" },
} as const;

const { values } = parseFlags("eval", USAGE, OPTIONS);

/** A finite number from a flag, or undefined when absent. */
function numFlag(name: "keep" | "budget"): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new Error(`--${name} must be a number`);
  return x;
}

/** The knobs given on the command line, lists where `method`'s knob table says (the registry checks them). */
function knobFlags(method: MethodName): Record<string, number | number[]> {
  const specs = methodSpec(method).knobs as Record<string, { kind: string } | undefined>;
  const k: Record<string, number | number[]> = {};
  for (const flag of values.knob!) {
    const m = /^([a-z_]+)=(.+)$/i.exec(flag);
    if (!m) throw new Error(`--knob ${flag}: expected NAME=VALUE`);
    const parts = m[2].split(",").map(Number);
    if (parts.some((x) => !Number.isFinite(x))) throw new Error(`--knob ${flag}: values must be numbers`);
    const list = specs[m[1]]?.kind === "integers" || specs[m[1]]?.kind === "numbers";
    k[m[1]] = list ? parts : parts.length === 1 ? parts[0] : parts;
  }
  const budget = numFlag("budget");
  if (budget !== undefined) k.budget = budget;
  return k;
}

async function main(): Promise<void> {
  const method = values.method!;
  if (!isMethod(method)) throw new Error(`--method must be one of ${METHODS.join(", ")}`);
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
  let knobs: PolicyKnobs = validatedKnobs(method, knobFlags(method));
  // --vision LAYER,TOKENS[,MERGE]: patches dropped (merged) inside the vision encoder first
  const v = values.vision?.split(",").map(Number);
  const vision = v
    ? visionReduction(
        { layer: v[0], tokens: v[1], merge: v[2] ?? 0 },
        model.config,
        visionLayersRun(model.config),
      )
    : null;
  const keep = numFlag("keep");
  if (keep !== undefined) {
    const calib = loadSplit(values.data!, "val").slice(0, Number(values.calibrate));
    const countBy = values["count-by"];
    if (countBy !== "mean" && countBy !== "input") throw new Error("--count-by must be mean or input");
    // with --vision, calibrated after the reduction (the fraction stays of all patches)
    knobs = await knobsFor(model, method, keep, calib, knobs, countBy, vision);
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
    vision,
  );
  console.log(formatReport(report));
  if (values.json) {
    mkdirSync(dirname(values.json), { recursive: true });
    writeFileSync(values.json, JSON.stringify(report, null, 2) + "\n");
  }
}

main().catch((err: Error) => {
  console.error(`eval: ${err.message}`);
  process.exit(1);
});
