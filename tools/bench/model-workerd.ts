// npm run bench:workerd -- --help prints the flags (USAGE below).
// The model benchmark inside workerd (tools/bench/model-worker.ts, started with wrangler's unstable_dev
// on tools/bench/model.wrangler.toml; the weights travel in the request body, as they would come from
// R2), then onnxruntime-web here in Node on the same prompt (workerd cannot compile ORT's Wasm).
import { fileURLToPath } from "node:url";
import { unstable_dev } from "wrangler";
import type { ModelFigures } from "./model-core";
import { benchImage, MODEL_BENCH_OPTIONS, packFiles, readWeightFiles } from "./model-io";
import { reportAgainstOrt } from "./model-ort";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run bench:workerd [-- --weights weights] [--onnx FILE] [--runs 5] [--tokens 24] [--precision int8|f32]
    [--json FILE]`;

const { values } = parseFlags("bench:workerd", USAGE, MODEL_BENCH_OPTIONS);

async function main(): Promise<void> {
  const files = readWeightFiles(values.weights!);
  const image = benchImage(values.data!);
  const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
  const worker = await unstable_dev(here("./model-worker.ts"), {
    config: here("./model.wrangler.toml"),
    logLevel: "warn",
    experimental: { disableExperimentalWarning: true, watch: false },
  });
  let figures: ModelFigures[];
  try {
    const body = packFiles(new Map([...files, ["__image.rgb", image.data]]));
    const query = `runs=${values.runs}&tokens=${values.tokens}&precision=${values.precision}&width=${image.width}&height=${image.height}`;
    const res = await worker.fetch(`/?${query}`, { method: "POST", body });
    if (!res.ok) throw new Error(`bench worker answered ${res.status}: ${await res.text()}`);
    figures = ((await res.json()) as { figures: ModelFigures[] }).figures;
  } finally {
    await worker.stop();
  }
  await reportAgainstOrt({
    runtime: "workerd (local)",
    ortWhere: `(in Node ${process.version})`,
    weightsDir: values.weights!,
    files,
    image,
    figures,
    onnx: values.onnx,
    runs: Number(values.runs),
    json: values.json,
  });
}

main().catch((err: Error) => {
  console.error(`bench:workerd: ${err.message}`);
  process.exit(1);
});
