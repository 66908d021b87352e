// The converter's inverse: served weights (manifest + shards) -> an f32 safetensors checkpoint with the
// Hugging Face names and shapes of the name table (wasm/names.ts), plus config.json and tokenizer.json.
// Quantized tensors come back as their dequantized values (q * s), so converting the result again with
// the same format reproduces the shards. Training starts a new stage from the served model with it
// (training/README.md, "Starting from the served weights").
import { readTensorsF32, tensorSpecs, type Manifest } from "../../wasm/tools";
import { writeSafetensors } from "./safetensors";

/** File name -> bytes: model.safetensors, config.json, tokenizer.json (and the cost table when the model has one). */
export function unpack(files: Map<string, Uint8Array>): Map<string, Uint8Array> {
  const manifest = JSON.parse(new TextDecoder().decode(files.get("manifest.json"))) as Manifest;
  const { config, tensors } = readTensorsF32(files);
  const out: { name: string; shape: number[]; data: Float32Array }[] = [];
  for (const spec of tensorSpecs(config)) {
    const data = tensors.get(spec.name);
    if (!data) throw new Error(`unpack: the shards lack tensor ${spec.name}`);
    out.push({ name: spec.hf, shape: spec.hfShape ?? spec.shape, data });
  }
  const result = new Map<string, Uint8Array>();
  result.set(
    "model.safetensors",
    writeSafetensors(out, { format: "pt", model: manifest.model_id, from: "served" }),
  );
  for (const key of [manifest.config, manifest.tokenizer, ...(manifest.cost ? [manifest.cost] : [])]) {
    const bytes = files.get(key);
    if (!bytes) throw new Error(`unpack: ${key} missing`);
    result.set(key, bytes);
  }
  return result;
}
