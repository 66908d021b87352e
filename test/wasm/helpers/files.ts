// Binary files for tests that must run in Node and in workerd alike: imported through Vite as base64
// data URLs (`?inline`, enabled for .f32/.u8/.bin/.safetensors in vitest.config.ts), decoded here. Also
// builds an f32 weight set (Linear weights unquantized) from a safetensors checkpoint with the converter's
// packer, for the f32 parity path against golden fixtures computed with the f32 weights.
import type { Manifest } from "../../../wasm/manifest";
import { MANIFEST_FORMAT } from "../../../wasm/manifest";
import { parseConfig } from "../../../wasm/config";
import { tensorSpecs } from "../../../wasm/names";
import { packShards, sha256Hex, type StoredTensor } from "../../../tools/convert/pack";
import { readSafetensors } from "../../../tools/convert/safetensors";

/** Bytes of a `data:...;base64,` URL. */
export function dataUrlBytes(url: string): Uint8Array {
  const bin = atob(url.slice(url.indexOf(",") + 1));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Last path component of a glob key. */
export const baseName = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/** f32 values of little-endian bytes. */
export const f32Of = (b: Uint8Array) => new Float32Array(b.slice().buffer);

/** Weight files (manifest.json, config.json, tokenizer.json, shards) with Linear weights kept in f32. */
export function f32WeightFiles(safetensors: Uint8Array, configJson: Uint8Array, tokenizerJson: Uint8Array) {
  const config = parseConfig(JSON.parse(new TextDecoder().decode(configJson)));
  const tensors = readSafetensors(safetensors);
  const stored: StoredTensor[] = tensorSpecs(config).map((s) => {
    const t = tensors.get(s.hf);
    if (!t) throw new Error(`checkpoint lacks ${s.hf}`);
    return {
      name: s.name,
      dtype: "f32",
      shape: s.shape,
      data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    };
  });
  const shards = packShards(stored, 4 << 20);
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    model_id: "atp-tiny-f32",
    config: "config.json",
    tokenizer: "tokenizer.json",
    quantization: "q8", // nominal: every Linear entry says f32
    files: {
      "config.json": { bytes: configJson.byteLength, sha256: sha256Hex(configJson) },
      "tokenizer.json": { bytes: tokenizerJson.byteLength, sha256: sha256Hex(tokenizerJson) },
    },
    shards: shards.map((s) => s.entry),
  };
  const files = new Map<string, Uint8Array>([
    ["config.json", configJson],
    ["tokenizer.json", tokenizerJson],
    ["manifest.json", new TextEncoder().encode(JSON.stringify(manifest))],
  ]);
  for (const s of shards) files.set(s.entry.key, s.bytes);
  return files;
}
