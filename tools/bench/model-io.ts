// Node side of the model benchmark: the weight files of a directory, the first ShapesVQA val image as the
// input (the split generated first when data/ lacks it), and the JSON the benchmark writes.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ensureSplit } from "../shapesvqa/build";
import { IMAGE_BYTES } from "../shapesvqa/render";
import { IMAGE_SIZE } from "../shapesvqa/scene";
import type { ModelFigures } from "./model-core";

/** The command-line options both model benchmarks take (node:util parseArgs). */
export const MODEL_BENCH_OPTIONS = {
  weights: { type: "string", default: "weights" },
  onnx: { type: "string" },
  data: { type: "string", default: "data" },
  runs: { type: "string", default: "5" },
  tokens: { type: "string", default: "24" },
  precision: { type: "string", default: "int8" },
  json: { type: "string" },
} as const;

/** Every file of the weights directory (manifest, config, tokenizer, shards). */
export function readWeightFiles(dir: string): Map<string, Uint8Array> {
  if (!existsSync(join(dir, "manifest.json")))
    throw new Error(`${dir}/manifest.json not found (npm run convert)`);
  const files = new Map<string, Uint8Array>();
  for (const f of readdirSync(dir))
    if (/\.(json|bin)$/.test(f)) files.set(f, new Uint8Array(readFileSync(join(dir, f))));
  return files;
}

/** The inverse of model-worker.ts unpackFiles. */
export function packFiles(files: Map<string, Uint8Array>): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify([...files].map(([key, b]) => ({ key, bytes: b.byteLength }))),
  );
  const total = 4 + header.byteLength + [...files.values()].reduce((a, b) => a + b.byteLength, 0);
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, header.byteLength, true);
  out.set(header, 4);
  let p = 4 + header.byteLength;
  for (const b of files.values()) {
    out.set(b, p);
    p += b.byteLength;
  }
  return out;
}

/** The benchmark's RGB input: image 0 of the ShapesVQA val split (the generator's image size). */
export function benchImage(dataDir: string) {
  const prefix = join(dataDir, "val");
  ensureSplit("val", prefix);
  const data = new Uint8Array(readFileSync(`${prefix}.images.u8`).subarray(0, IMAGE_BYTES));
  return { data, width: IMAGE_SIZE, height: IMAGE_SIZE };
}

/** pixel_values [3, H, W] as training/model.py computes them, from a model-sized HWC image. */
export function referencePixels(rgb: Uint8Array, mean: number[], std: number[]): Float32Array {
  const n = rgb.length / 3; // pixels of the model-sized image (HWC) -> CHW
  const px = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < n; i++) px[c * n + i] = (rgb[i * 3 + c] / 255 - mean[c]) / std[c];
  return px;
}

/** The JSON report of `npm run bench` / `bench:workerd`. */
export interface ModelBenchReport {
  runtime: string;
  weights: string;
  figures: ModelFigures[];
  ort: { ms: number; version: string; graph: string };
  /** ORT fp32 (vision + projector + prefill) ms / engine ms for the same work, per build: > 1 = faster. */
  prefill_vs_ort: Record<string, number>;
  peak_memory_bytes: number;
  peak_memory_target_bytes: number;
}
