// The weight format: `manifest.json` beside the shards (docs/architecture.md, "Weight format"). Written by the
// converter (tools/convert), read by the engine's loader. Shards are raw concatenations of tensor payloads;
// every payload starts at a 64-byte aligned offset so it can be copied into linear memory as one block.

import type { WeightDtype } from "./quant";

/** Manifest format identifier; bump on any incompatible change. */
export const MANIFEST_FORMAT = "atp-edge-weights/1";

/** Alignment of every tensor payload inside a shard, in bytes. */
export const TENSOR_ALIGN = 64;

/** Storage types: q8/q4 per wasm/quant.ts, f32 little-endian. */
export type TensorDtype = WeightDtype;

/** Where one tensor lives inside its shard. For q8/q4, `scales` locates the f32 scales. */
export interface TensorEntry {
  /** Engine name, e.g. `llm.layers.5.mlp.up.weight` (wasm/model/names.ts). */
  name: string;
  dtype: TensorDtype;
  /** Logical shape, PyTorch order (Linear weights [out, in]). */
  shape: number[];
  offset: number;
  bytes: number;
  scales?: { offset: number; bytes: number };
}

/** One shard object (a file in weights/, an object in R2). */
export interface ShardEntry {
  key: string;
  bytes: number;
  sha256: string;
  tensors: TensorEntry[];
}

/** The whole manifest. */
export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  model_id: string;
  /** Key of the HF-style config.json. */
  config: string;
  /** Key of the Hugging Face tokenizer.json. */
  tokenizer: string;
  /** Default storage of Linear weights: q8 or q4 (norms, embeddings' positions and biases stay f32). */
  quantization: "q8" | "q4";
  /**
   * Key of the cost table (wasm/engine/cost.ts, written by `npm run bench:cost -- --write`); absent: the
   * model has none and refuses `cpu_budget_ms`.
   */
  cost?: string;
  /** sha256 of the config, tokenizer and cost files, checked like the shards. */
  files: Record<string, { bytes: number; sha256: string }>;
  shards: ShardEntry[];
}
