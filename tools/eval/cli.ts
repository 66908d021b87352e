// npm run eval -- (--split val|test | --seed S --count N) [--method none] [--weights weights]
//                 [--precision int8|f32] [--limit N] [--kernels relaxed|simd] [--data data] [--json FILE]
// Evaluates the engine on ShapesVQA with one pruning method; prints a table per family and writes the
// JSON report (tools/eval/run.ts) to --json.
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadModel } from "../../wasm/loader";
import { METHODS, type MethodName } from "../../wasm/pruning/policy";
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
  },
});

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
  const report = await evaluate(model, items, method, split, (n) => {
    if (n % 100 === 0) console.error(`  ${n}/${items.length}`);
  });
  console.log(formatReport(report));
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2) + "\n");
}

main().catch((err: Error) => {
  console.error(`eval: ${err.message}`);
  process.exit(1);
});
