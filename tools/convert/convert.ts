// safetensors checkpoint + config.json + tokenizer.json -> manifest and shards (docs/architecture.md, "Weight
// format"). Every tensor of the name table (wasm/model/names.ts) must be present with its shape; anything
// missing, misshapen or unexpected is an error naming the tensor, raised before a byte is written.
import { MANIFEST_FORMAT, parseConfig, QUANT_FORMATS, tensorSpecs, type Manifest } from "../../wasm/tools";
import { packShards, sha256Hex, type StoredTensor } from "./pack";
import { readSafetensors } from "./safetensors";

/** What the converter reads. */
export interface ConvertInput {
  modelId: string;
  safetensors: Uint8Array;
  configJson: Uint8Array;
  tokenizerJson: Uint8Array;
  quantization: "q8" | "q4";
  shardBytes: number;
  /** The model's cost table (cost.json), kept through a reconversion (tools/convert/unpack.ts). */
  costJson?: Uint8Array;
}

/** What it produces: file name -> bytes, manifest.json included. */
export type ConvertOutput = Map<string, Uint8Array>;

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Converts a checkpoint; throws an Error naming the first problem found. */
export function convert(input: ConvertInput): ConvertOutput {
  const config = parseConfig(JSON.parse(new TextDecoder().decode(input.configJson)));
  const tensors = readSafetensors(input.safetensors);
  const specs = tensorSpecs(config);

  const stored: StoredTensor[] = [];
  const used = new Set<string>();
  for (const spec of specs) {
    const t = tensors.get(spec.hf);
    if (!t) throw new Error(`convert: missing tensor ${spec.hf} (engine name ${spec.name})`);
    const expected = spec.hfShape ?? spec.shape;
    if (!sameShape(t.shape, expected)) {
      throw new Error(`convert: tensor ${spec.hf} has shape [${t.shape}], config says [${expected}]`);
    }
    used.add(spec.hf);
    if (!spec.linear) {
      stored.push({ name: spec.name, dtype: "f32", shape: spec.shape, data: bytesOf(t.data) });
      continue;
    }
    const [n, k] = spec.shape;
    const q = QUANT_FORMATS[input.quantization].quantize(t.data, n, k);
    stored.push({
      name: spec.name,
      dtype: input.quantization,
      shape: spec.shape,
      data: bytesOf(q.data),
      scales: bytesOf(q.scales),
    });
  }
  for (const name of tensors.keys()) {
    // A tied lm_head may share the embedding; everything else must be known.
    if (!used.has(name))
      throw new Error(`convert: unexpected tensor ${name} (not in the model's name table)`);
  }

  const files = packModel({ ...input, stored });
  return input.costJson ? withCostTable(files, input.costJson) : files;
}

/** What `packModel` writes: stored tensors in name-table order, the config and tokenizer bytes. */
export interface PackInput {
  modelId: string;
  stored: StoredTensor[];
  configJson: Uint8Array;
  tokenizerJson: Uint8Array;
  quantization: "q8" | "q4";
  shardBytes: number;
}

/** Shards + manifest.json + config.json + tokenizer.json of checked tensors (the converter and tools/base). */
export function packModel(input: PackInput): ConvertOutput {
  const shards = packShards(input.stored, input.shardBytes);
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    model_id: input.modelId,
    config: "config.json",
    tokenizer: "tokenizer.json",
    quantization: input.quantization,
    files: {
      "config.json": { bytes: input.configJson.byteLength, sha256: sha256Hex(input.configJson) },
      "tokenizer.json": { bytes: input.tokenizerJson.byteLength, sha256: sha256Hex(input.tokenizerJson) },
    },
    shards: shards.map((s) => s.entry),
  };
  const out: ConvertOutput = new Map();
  out.set("config.json", input.configJson);
  out.set("tokenizer.json", input.tokenizerJson);
  for (const s of shards) out.set(s.entry.key, s.bytes);
  out.set("manifest.json", new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n"));
  return out;
}

/** The cost table's object key. */
export const COST_KEY = "cost.json";

/**
 * `files` (a converted model) with `costJson` as its cost table: cost.json added (or replaced) and named
 * in the manifest with its sha256, like config.json.
 */
export function withCostTable(files: ConvertOutput, costJson: Uint8Array): ConvertOutput {
  const manifest = JSON.parse(new TextDecoder().decode(files.get("manifest.json"))) as Manifest;
  manifest.cost = COST_KEY;
  manifest.files[COST_KEY] = { bytes: costJson.byteLength, sha256: sha256Hex(costJson) };
  const out: ConvertOutput = new Map(files);
  out.set(COST_KEY, costJson);
  out.set("manifest.json", new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n"));
  return out;
}
