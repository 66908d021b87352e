// npm run bench [-- --weights weights] [--onnx out/atp-tiny/model.onnx] [--runs 5] [--tokens 24]
//                  [--precision int8|f32] [--json FILE]
// The engine end to end in Node: cold load from bytes, preprocessing, vision encoder, projector, LLM
// prefill, time to first token, ms per generated token (caption prompt, >= 20 tokens), peak linear
// memory, on both kernel builds; beside it, in the same run, onnxruntime-web (wasm, 1 thread) running
// the exported fp32 model.onnx over the same prompt (vision + prefill), and the ratio.
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { kernelModule } from "../eval/node";
import { benchModel, CAPTION_PROMPT, formatFigures, MEMORY_TARGET_BYTES } from "./model-core";
import { benchImage, readWeightFiles, referencePixels, type ModelBenchReport } from "./model-io";
import { timeOrtPrefill } from "./model-ort";
import { loadModel } from "../../wasm/loader";
import { MemorySource } from "../../wasm/source";

const { values } = parseArgs({
  options: {
    weights: { type: "string", default: "weights" },
    onnx: { type: "string", default: "out/atp-tiny/model.onnx" },
    data: { type: "string", default: "data" },
    runs: { type: "string", default: "5" },
    tokens: { type: "string", default: "24" },
    precision: { type: "string", default: "int8" },
    json: { type: "string" },
  },
});

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
  // the peer on the same prompt
  const model = await loadModel(new MemorySource(files), { kernels: kernelModule("relaxed") });
  const ids = model.tokenizer.promptIds(CAPTION_PROMPT);
  const c = model.config;
  const ort = await timeOrtPrefill(
    values.onnx!,
    referencePixels(image.data, c.imageMean, c.imageStd),
    ids,
    runs,
  );
  const report: ModelBenchReport = {
    runtime: `node ${process.version}`,
    weights: values.weights!,
    figures,
    ort,
    prefill_vs_ort:
      "ms" in ort
        ? Object.fromEntries(figures.map((f) => [f.build, ort.ms / f.vision_and_prefill_ms]))
        : null,
    peak_memory_bytes: Math.max(...figures.map((f) => f.peak_memory_bytes)),
    peak_memory_target_bytes: MEMORY_TARGET_BYTES,
  };
  console.log(formatFigures(report.runtime, figures));
  if ("ms" in ort) {
    console.log(
      `onnxruntime-web ${ort.version} fp32 wasm 1 thread, vision + prefill: ${ort.ms.toFixed(1)} ms`,
    );
    for (const [b, r] of Object.entries(report.prefill_vs_ort!))
      console.log(`  prefill_vs_ort (${b}): ${r.toFixed(2)}x`);
  } else console.log(`onnxruntime-web skipped: ${ort.skipped}`);
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2) + "\n");
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});
