// A tiny random atp-tiny-shaped model for engine tests: a random checkpoint in Hugging Face names, written
// as safetensors and converted by the project's converter (tools/convert) into manifest + shards, served
// from memory. Small enough to run the float64 reference (../reference.ts) in milliseconds, shaped to hit
// the kernels' tails: patch features 48 (not a multiple of 32), GQA (4 query heads over 2 KV heads),
// a 4 x 4 visual grid (16 tokens) that the pruning tests can thin out.
import { convert } from "../../../tools/convert/convert";
import { writeSafetensors as writeSafetensorsFile } from "../../../tools/convert/safetensors";
import { wordLevelTokenizerJson } from "../../../tools/shapesvqa/tokenizer";
import { parseConfig } from "../../../wasm/config";
import { tensorSpecs } from "../../../wasm/names";
import { rng } from "../../helpers/kernels";

/** Words of the tiny vocabulary (ids 6..), after the six special tokens of the data contract. */
export const WORDS = [
  "?",
  ",",
  "what",
  "color",
  "is",
  "the",
  "square",
  "red",
  "blue",
  "green",
  "circle",
  "yes",
];
const SPECIALS = ["<pad>", "<bos>", "<eos>", "<image>", "<sep>", "<unk>"];

/** The tiny config (LLaVA-style, as training/config.json). */
export const TINY_CONFIG = {
  model_type: "llava",
  image_token_index: 3,
  image_seq_length: 16,
  vision_feature_layer: -1,
  vision_feature_post_layernorm: true,
  image_mean: [0.5, 0.5, 0.5],
  image_std: [0.5, 0.5, 0.5],
  pad_token_id: 0,
  bos_token_id: 1,
  eos_token_id: 2,
  sep_token_id: 4,
  unk_token_id: 5,
  vision_config: {
    image_size: 16,
    patch_size: 4,
    num_channels: 3,
    hidden_size: 16,
    intermediate_size: 40,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    layer_norm_eps: 1e-5,
  },
  text_config: {
    vocab_size: SPECIALS.length + WORDS.length,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 3,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
  },
};

/** TINY_CONFIG with two ATP modules (after LLM layers 0 and 1), as training/atp.py ATPConfig. */
export const TINY_ATP_CONFIG = {
  ...TINY_CONFIG,
  atp: {
    layers: [0, 1],
    tau: 20,
    tau_r: 4,
    sap_lambda: 3,
    grid_strides: [4, 2],
    mlp_hidden: 8,
    num_features: 9,
    target_keep: 0.25,
  },
};
/** tokenizer.json of the tiny vocabulary (WordLevel, written as tools/shapesvqa/tokenizer.ts writes it). */
export function tinyTokenizerJson(): Record<string, unknown> {
  return wordLevelTokenizerJson([...SPECIALS, ...WORDS], SPECIALS, "<unk>");
}

type Checkpoint = Map<string, { shape: number[]; data: Float32Array }>;

/** Random weights for every tensor of the name table; norm weights near 1, others ~U(-scale, scale). */
export function randomCheckpoint(config: object = TINY_CONFIG, seed = 1): Checkpoint {
  const r = rng(seed);
  const m: Checkpoint = new Map();
  for (const s of tensorSpecs(parseConfig(config))) {
    const shape = s.hfShape ?? s.shape;
    const n = shape.reduce((a, b) => a * b, 1);
    const norm = /norm|ln\d|post_ln/.test(s.name) && s.name.endsWith(".weight");
    // larger embeddings and head than a trained model, so greedy decoding moves between tokens
    const scale =
      s.name.includes("embed") || s.name === "llm.head.weight"
        ? 2
        : 0.5 / Math.sqrt(shape[shape.length - 1]) + 0.05;
    m.set(s.hf, {
      shape,
      data: Float32Array.from({ length: n }, () =>
        norm ? 1 + 0.2 * (r() - 0.5) : (r() * 2 - 1) * scale * 1.7,
      ),
    });
  }
  return m;
}

/** safetensors bytes (F32) from name -> tensor. */
export function writeSafetensors(tensors: Checkpoint): Uint8Array {
  return writeSafetensorsFile([...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })));
}

/** The converted tiny model: file name -> bytes (manifest.json, config.json, tokenizer.json, shards). */
export function tinyModelFiles(quantization: "q8" | "q4" = "q8", seed = 1, config: object = TINY_CONFIG) {
  const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  return convert({
    modelId: "tiny",
    safetensors: writeSafetensors(randomCheckpoint(config, seed)),
    configJson: enc(config),
    tokenizerJson: enc(tinyTokenizerJson()),
    quantization,
    shardBytes: 8 * 1024, // several shards, fetched in parallel
  });
}

/** A deterministic random RGB image. */
export function randomImage(width: number, height: number, seed = 3) {
  const r = rng(seed);
  return {
    data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(r() * 256)),
    width,
    height,
  };
}
