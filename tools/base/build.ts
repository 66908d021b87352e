// atp-base's weights, generated (docs/atp-base.md): every tensor of models/atp-base/config.json's name
// table drawn from a seeded generator, quantized to q8 or q4 and packed like a converted checkpoint.
// Deterministic: the same seed gives the same bytes (each tensor's stream is seeded by its name), so
// nothing is downloaded or committed. Accuracy is not the point; speed, memory and exactness are.
// The ATP modules are untrained: their MLPs output constant thresholds (fixed budget, below).
import { readFileSync } from "node:fs";
import { parseConfig, QUANT_FORMATS, tensorSpecs, type ModelConfig, type TensorSpec } from "../../wasm/tools";
import { packModel } from "../convert/convert";
import type { StoredTensor } from "../convert/pack";

/** Where atp-base's config lives. */
export const BASE_CONFIG = "models/atp-base/config.json";
/** The served model's tokenizer: atp-base extends its word list to the config's vocabulary. */
export const BASE_TOKENIZER_FROM = "weights/tokenizer.json";

/** Standard deviation of the generated weights (GPT-2 / Llama initialisation). */
const INIT_STD = 0.02;

/**
 * Untrained ATP thresholds: z_r so high that the importance branch keeps nothing of its own (the best
 * token always survives), theta_s = sigmoid(z_s) = 0.45, between the SAP values of the stride-2 grid
 * (0.25) and the stride-3 one (0.667): every module keeps the tokens of the stride-3, -4 and -6
 * sub-grids (37 of 196 on atp-base's 14 x 14 grid). With modules after layers 1, 8 and 16 of 30, the mean
 * over LLM layers is (2 * 196 + 28 * 37) / (30 * 196) = 24.3% -- the fixed budget the figures use.
 */
export const BASE_ATP_Z: [number, number] = [30, Math.log(0.45 / 0.55)];

/** splitmix32: a small seeded generator, one stream per tensor. */
function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a name mixed with the seed: each tensor's stream does not depend on the others. */
function streamSeed(name: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The f32 values of one tensor: norms 1, biases 0, ATP MLPs constant, the rest uniform with std 0.02. */
export function tensorValues(spec: TensorSpec, seed: number): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const name = spec.name;
  if (name.startsWith("atp.")) {
    if (name.endsWith("fc2.bias")) out.set(BASE_ATP_Z);
    return out;
  }
  if (/(ln\d|post_ln|_norm|llm\.norm)\.weight$/.test(name)) return out.fill(1);
  if (name.endsWith(".bias")) return out;
  const r = generator(streamSeed(name, seed));
  const a = INIT_STD * Math.sqrt(3);
  for (let i = 0; i < n; i++) out[i] = (2 * r() - 1) * a;
  return out;
}

/** The served tokenizer's word list padded with `<wN>` words up to the vocabulary size. */
export function baseTokenizer(json: string, vocabSize: number): Uint8Array {
  const tok = JSON.parse(json) as { model: { vocab: Record<string, number> } };
  const vocab = tok.model.vocab;
  for (let id = Object.keys(vocab).length; id < vocabSize; id++) vocab[`<w${id}>`] = id;
  return new TextEncoder().encode(JSON.stringify(tok));
}

/** Options of `buildBase`. */
export interface BaseOptions {
  quant: "q8" | "q4";
  seed: number;
  configJson?: Uint8Array;
  tokenizerJson?: string;
  shardBytes?: number;
}

/** atp-base's files (manifest, shards, config, tokenizer), in memory. */
export function buildBase(o: BaseOptions): { files: Map<string, Uint8Array>; config: ModelConfig } {
  const configJson = o.configJson ?? readFileSync(BASE_CONFIG);
  const config = parseConfig(JSON.parse(new TextDecoder().decode(configJson)));
  const tokenizerJson = baseTokenizer(
    o.tokenizerJson ?? readFileSync(BASE_TOKENIZER_FROM, "utf8"),
    config.text.vocabSize,
  );
  const stored: StoredTensor[] = tensorSpecs(config).map((spec) => {
    const v = tensorValues(spec, o.seed);
    if (!spec.linear) return { name: spec.name, dtype: "f32", shape: spec.shape, data: bytes(v) };
    const q = QUANT_FORMATS[o.quant].quantize(v, spec.shape[0], spec.shape[1]);
    return {
      name: spec.name,
      dtype: o.quant,
      shape: spec.shape,
      data: bytes(q.data),
      scales: bytes(q.scales),
    };
  });
  const files = packModel({
    modelId: `atp-base-${o.quant}`,
    stored,
    configJson,
    tokenizerJson,
    quantization: o.quant,
    shardBytes: o.shardBytes ?? 16 * 1024 * 1024,
  });
  return { files, config };
}

const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
