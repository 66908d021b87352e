// The onnxruntime-web peer of the model benchmark (Node only: workerd cannot compile ORT's Wasm): the
// served model as one fp32 graph (pixel_values, input_ids -> logits of every position, unpruned) on the
// wasm backend with one thread: the vision encoder, projector and LLM prefill. The graph is built from
// the weight shards (onnx-llava.ts); `--onnx FILE` runs another export instead (training/export.py's).
import { readFileSync, writeFileSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { loadModel, MemorySource } from "../../wasm/index";
import { kernelModule } from "../eval/node";
import { llavaOnnx } from "./onnx-llava";
import { CAPTION_PROMPT, formatFigures, MEMORY_TARGET_BYTES, type ModelFigures } from "./model-core";
import { referencePixels, type ModelBenchReport } from "./model-io";

/** Median ms of `runs` session runs of the ONNX model `onnx` on the prompt. */
export async function timeOrtPrefill(
  onnx: Uint8Array,
  pixels: Float32Array,
  ids: number[],
  runs: number,
  imageSize: number,
): Promise<{ ms: number; version: string; graph?: string }> {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  const session = await ort.InferenceSession.create(onnx, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
  const feeds = {
    pixel_values: new ort.Tensor("float32", pixels, [1, 3, imageSize, imageSize]),
    input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]),
  };
  await session.run(feeds); // warm-up
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t);
  }
  await session.release();
  return { ms: times.sort((a, b) => a - b)[Math.floor(runs / 2)], version: ort.env.versions.web ?? "?" };
}

/** What both entry points (Node, workerd) measured, and where the peer and the report go. */
export interface ReportInput {
  runtime: string;
  /** How the ORT line names where ORT ran. */
  ortWhere: string;
  weightsDir: string;
  files: Map<string, Uint8Array>;
  image: { data: Uint8Array };
  figures: ModelFigures[];
  /** An exported ONNX file to run instead of the graph built from the shards. */
  onnx?: string;
  runs: number;
  json?: string;
}

/**
 * Times onnxruntime-web on the same caption prompt, prints the engine's figures and the ratios, writes the
 * JSON report when asked, and returns it.
 */
export async function reportAgainstOrt(r: ReportInput): Promise<ModelBenchReport> {
  const model = await loadModel(new MemorySource(r.files), { kernels: kernelModule("relaxed") });
  const ids = model.tokenizer.promptIds(CAPTION_PROMPT);
  const c = model.config;
  const graph = r.onnx ? r.onnx : "built from the shards (tools/bench/onnx-llava.ts)";
  const onnx = r.onnx ? new Uint8Array(readFileSync(r.onnx)) : llavaOnnx(r.files, ids);
  const peer = await timeOrtPrefill(
    onnx,
    referencePixels(r.image.data, c.imageMean, c.imageStd),
    ids,
    r.runs,
    c.vision.imageSize,
  );
  const report: ModelBenchReport = {
    runtime: r.runtime,
    weights: r.weightsDir,
    figures: r.figures,
    ort: { ...peer, graph },
    prefill_vs_ort: Object.fromEntries(r.figures.map((f) => [f.build, peer.ms / f.vision_and_prefill_ms])),
    peak_memory_bytes: Math.max(...r.figures.map((f) => f.peak_memory_bytes)),
    peak_memory_target_bytes: MEMORY_TARGET_BYTES,
  };
  console.log(formatFigures(r.runtime, r.figures));
  console.log(
    `onnxruntime-web ${peer.version} fp32 ${r.ortWhere} (graph ${graph}), vision + prefill: ${peer.ms.toFixed(1)} ms`,
  );
  for (const [b, x] of Object.entries(report.prefill_vs_ort))
    console.log(`  prefill_vs_ort (${b}): ${x.toFixed(2)}x`);
  if (r.json) writeFileSync(r.json, JSON.stringify(report, null, 2) + "\n");
  return report;
}
