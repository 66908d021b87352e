// The onnxruntime-web peer of the model benchmark (Node only: workerd cannot compile ORT's Wasm):
// training/export.py's model.onnx (pixel_values, input_ids -> logits of every position, fp32, unpruned)
// on the wasm backend with one thread: the vision encoder, projector and LLM prefill in one graph.
import { existsSync, readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";

/** Median ms of `runs` sessions runs on the prompt, or null (with the reason) when the ONNX file is absent. */
export async function timeOrtPrefill(
  onnxPath: string,
  pixels: Float32Array,
  ids: number[],
  runs: number,
): Promise<{ ms: number; version: string } | { skipped: string }> {
  if (!existsSync(onnxPath)) return { skipped: `${onnxPath} not found (training/export.py writes it)` };
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(onnxPath)), {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
  const feeds = {
    pixel_values: new ort.Tensor("float32", pixels, [1, 3, 96, 96]),
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
