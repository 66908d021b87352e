// Every tensor of a converted model's files as f32 (quantized Linear weights dequantized by their format,
// wasm/quant.ts): for the tools and the tests' references that need the weights as numbers, e.g. the
// onnxruntime-web peer's graph (tools/bench/onnx-llava.ts). The engine itself never goes this way: it
// copies payloads into linear memory as stored (engine/weights.ts).
import { parseConfig, type ModelConfig } from "./config";
import type { Manifest } from "./manifest";
import { QUANT_FORMATS } from "./quant";

/** Little-endian f32 values at any byte offset. */
function f32At(bytes: Uint8Array, offset: number, n: number): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, n * 4);
  return Float32Array.from({ length: n }, (_, i) => dv.getFloat32(i * 4, true));
}

/** The model's config and its tensors by engine name, f32, from the files of a weights directory. */
export function readTensorsF32(files: Map<string, Uint8Array>): {
  config: ModelConfig;
  tensors: Map<string, Float32Array>;
} {
  const json = (key: string) => {
    const b = files.get(key);
    if (!b) throw new Error(`weights: ${key} missing`);
    return JSON.parse(new TextDecoder().decode(b)) as unknown;
  };
  const manifest = json("manifest.json") as Manifest;
  const config = parseConfig(json(manifest.config));
  const tensors = new Map<string, Float32Array>();
  for (const s of manifest.shards) {
    const bytes = files.get(s.key);
    if (!bytes) throw new Error(`weights: shard ${s.key} missing`);
    for (const t of s.tensors) {
      if (t.dtype === "f32") {
        tensors.set(t.name, f32At(bytes, t.offset, t.bytes / 4));
        continue;
      }
      const [n, k] = t.shape;
      const payload = bytes.subarray(t.offset, t.offset + t.bytes);
      const scales = f32At(bytes, t.scales!.offset, t.scales!.bytes / 4);
      tensors.set(t.name, QUANT_FORMATS[t.dtype].dequantize(payload, scales, n, k));
    }
  }
  return { config, tensors };
}
