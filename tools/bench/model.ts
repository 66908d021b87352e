// npm run bench -- --help prints the flags (USAGE below).
// The engine end to end in Node: cold load from bytes, preprocessing, vision encoder, projector, LLM
// prefill, time to first token, ms per generated token (caption prompt, >= 20 tokens), peak linear
// memory, on both kernel builds; beside it, in the same run, onnxruntime-web (wasm, 1 thread) running
// the same model as an fp32 graph built from the shards (or --onnx FILE) over the same prompt (vision +
// prefill), and the ratio.
import { kernelModule } from "../eval/node";
import { benchModel } from "./model-core";
import { benchImage, MODEL_BENCH_OPTIONS, readWeightFiles } from "./model-io";
import { reportAgainstOrt } from "./model-ort";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run bench [-- --weights weights] [--onnx FILE] [--runs 5] [--tokens 24]
    [--precision int8|f32] [--json FILE]`;

const { values } = parseFlags("bench", USAGE, MODEL_BENCH_OPTIONS);

async function main(): Promise<void> {
  const files = readWeightFiles(values.weights!);
  const image = benchImage(values.data!);
  const runs = Number(values.runs);
  const figures = await benchModel({
    files,
    image,
    builds: [
      { name: "relaxed", module: kernelModule("relaxed") },
      { name: "simd", module: kernelModule("simd") },
    ],
    runs,
    tokens: Number(values.tokens),
    precision: values.precision as "int8" | "f32",
  });
  // the peer on the same prompt, the ratios and the report
  await reportAgainstOrt({
    runtime: `node ${process.version}`,
    ortWhere: "wasm 1 thread",
    weightsDir: values.weights!,
    files,
    image,
    figures,
    onnx: values.onnx,
    runs,
    json: values.json,
  });
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});
