// The model description the engine builds from: Hugging Face LLaVA-style config.json (the same file the
// PyTorch reference, training/model.py, is configured by), parsed and checked once.

/** Vision tower (CLIP-style ViT without class token). */
export interface VisionConfig {
  imageSize: number;
  patchSize: number;
  channels: number;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  layerNormEps: number;
}

/** Llama-style decoder. */
export interface TextConfig {
  vocabSize: number;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  maxPositions: number;
  rmsNormEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
}

/** ATP modules (config.json `atp`, training/atp.py ATPConfig); absent in a model trained without them. */
export interface AtpConfig {
  /** LLM layers (0-based) after which a module scores and prunes the visual tokens. */
  layers: number[];
  /** SAP: S_s = 1 - sapLambda / stride^2 on each centred stride-`gridStrides` sub-grid. */
  sapLambda: number;
  gridStrides: number[];
  /** Threshold MLP sizes: features -> hidden -> 2. */
  mlpHidden: number;
  numFeatures: number;
  /** Mean fraction of visual tokens over all LLM layers the modules were trained for. */
  targetKeep: number;
  /**
   * How S_self is normalised (training/atp.py): "sum" (the shipped modules: biased to the first rows in a
   * causal decoder) or "visible" (each row scaled to its visible keys, averaged over the rows that see
   * the token: 1 for every token under uniform attention). Absent: "sum".
   */
  selfNorm: "sum" | "visible";
  /**
   * How this model's modules remove what they drop when a request does not say (the `merge` knob): true
   * merges into the most similar kept token with proportional attention (docs/method.md, "Merging").
   * Absent: false (drop).
   */
  merge: boolean;
  /**
   * Where the first module's decision applies when a request does not say (the `input` knob): true before
   * layer 0 (from layer 0's attention computed on its input; the first module must follow layer 0), false
   * after it. Absent: false.
   */
  input: boolean;
  /**
   * The threshold MLPs also read the instruction rows' mean hidden state where each module decides,
   * RMS-normalised (wasm/pruning/atp.ts questionState): numFeatures is then 9 + the LLM's hidden size.
   * Absent: false (the score statistics alone).
   */
  questionState: boolean;
}

/** Everything the engine needs to know about the model. */
export interface ModelConfig {
  vision: VisionConfig;
  text: TextConfig;
  imageTokenId: number;
  imageSeqLength: number;
  visionFeatureLayer: number;
  visionFeaturePostLayernorm: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  padId: number;
  bosId: number;
  eosId: number;
  sepId: number;
  unkId: number;
  /** ATP modules, when the checkpoint has them. */
  atp?: AtpConfig;
}

/** Width of one attention head: hidden / heads (parseConfig checks it divides), for either tower. */
export function headDim(c: { hidden: number; heads: number }): number {
  return c.hidden / c.heads;
}

/** Vision encoder layers whose output is needed: hidden = [embeddings, layer 0 out, ...][feature layer]. */
export function visionLayersRun(c: ModelConfig): number {
  const { layers } = c.vision;
  const f = c.visionFeatureLayer;
  const n = f < 0 ? layers + 1 + f : f;
  if (n < 0 || n > layers) throw new Error(`config: vision_feature_layer ${f} out of range`);
  return n;
}

/** The grid side of a square token grid of `tokens` tokens (image_seq_length = side^2). */
export function gridSide(tokens: number): number {
  return Math.round(Math.sqrt(tokens));
}

type Json = Record<string, unknown>;

function num(obj: Json, key: string, where: string): number {
  const v = obj[key];
  if (typeof v !== "number" || !Number.isFinite(v))
    throw new Error(`config: ${where}.${key} must be a number`);
  return v;
}

function positiveInt(obj: Json, key: string, where: string): number {
  const v = num(obj, key, where);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`config: ${where}.${key} must be a positive integer`);
  return v;
}

function triple(obj: Json, key: string): [number, number, number] {
  const v = obj[key];
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === "number")) {
    throw new Error(`config: ${key} must be three numbers`);
  }
  return [v[0], v[1], v[2]];
}

/** Parses and validates a LLaVA-style config.json; throws a message naming the bad field. */
export function parseConfig(json: unknown): ModelConfig {
  if (typeof json !== "object" || json === null) throw new Error("config: not a JSON object");
  const c = json as Json;
  if (c.model_type !== "llava")
    throw new Error(`config: model_type must be "llava", got ${String(c.model_type)}`);
  const v = c.vision_config as Json;
  const t = c.text_config as Json;
  if (typeof v !== "object" || v === null) throw new Error("config: vision_config missing");
  if (typeof t !== "object" || t === null) throw new Error("config: text_config missing");
  const vision: VisionConfig = {
    imageSize: positiveInt(v, "image_size", "vision_config"),
    patchSize: positiveInt(v, "patch_size", "vision_config"),
    channels: positiveInt(v, "num_channels", "vision_config"),
    hidden: positiveInt(v, "hidden_size", "vision_config"),
    intermediate: positiveInt(v, "intermediate_size", "vision_config"),
    layers: positiveInt(v, "num_hidden_layers", "vision_config"),
    heads: positiveInt(v, "num_attention_heads", "vision_config"),
    layerNormEps: num(v, "layer_norm_eps", "vision_config"),
  };
  const text: TextConfig = {
    vocabSize: positiveInt(t, "vocab_size", "text_config"),
    hidden: positiveInt(t, "hidden_size", "text_config"),
    intermediate: positiveInt(t, "intermediate_size", "text_config"),
    layers: positiveInt(t, "num_hidden_layers", "text_config"),
    heads: positiveInt(t, "num_attention_heads", "text_config"),
    kvHeads: positiveInt(t, "num_key_value_heads", "text_config"),
    maxPositions: positiveInt(t, "max_position_embeddings", "text_config"),
    rmsNormEps: num(t, "rms_norm_eps", "text_config"),
    ropeTheta: num(t, "rope_theta", "text_config"),
    tieWordEmbeddings: t.tie_word_embeddings === true,
  };
  if (vision.imageSize % vision.patchSize !== 0)
    throw new Error("config: image_size not a multiple of patch_size");
  if (vision.hidden % vision.heads !== 0)
    throw new Error("config: vision hidden_size not divisible by heads");
  if (text.hidden % text.heads !== 0) throw new Error("config: text hidden_size not divisible by heads");
  if (text.heads % text.kvHeads !== 0) throw new Error("config: heads not a multiple of num_key_value_heads");
  const grid = vision.imageSize / vision.patchSize;
  const imageSeqLength = positiveInt(c, "image_seq_length", "config");
  if (imageSeqLength !== grid * grid)
    throw new Error("config: image_seq_length != (image_size/patch_size)^2");
  return {
    vision,
    text,
    imageTokenId: num(c, "image_token_index", "config"),
    imageSeqLength,
    visionFeatureLayer: typeof c.vision_feature_layer === "number" ? c.vision_feature_layer : -1,
    visionFeaturePostLayernorm: c.vision_feature_post_layernorm !== false,
    imageMean: triple(c, "image_mean"),
    imageStd: triple(c, "image_std"),
    padId: num(c, "pad_token_id", "config"),
    bosId: num(c, "bos_token_id", "config"),
    eosId: num(c, "eos_token_id", "config"),
    sepId: num(c, "sep_token_id", "config"),
    unkId: num(c, "unk_token_id", "config"),
    ...(c.atp === undefined ? {} : { atp: parseAtp(c.atp, text.layers) }),
  };
}

function intList(obj: Json, key: string): number[] {
  const v = obj[key];
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x)))
    throw new Error(`config: atp.${key} must be a list of integers`);
  return v as number[];
}

function boolOf(v: unknown, what: string): boolean {
  if (typeof v !== "boolean") throw new Error(`config: ${what} must be true or false`);
  return v;
}

function selfNormOf(v: unknown): AtpConfig["selfNorm"] {
  if (v === undefined || v === "sum" || v === "visible") return v ?? "sum";
  throw new Error('config: atp.self_norm must be "sum" or "visible"');
}

/** The `atp` block: module layers strictly increasing inside [0, layers - 1). */
function parseAtp(json: unknown, layers: number): AtpConfig {
  if (typeof json !== "object" || json === null) throw new Error("config: atp must be an object");
  const a = json as Json;
  const atp: AtpConfig = {
    layers: intList(a, "layers"),
    sapLambda: num(a, "sap_lambda", "atp"),
    gridStrides: intList(a, "grid_strides"),
    mlpHidden: positiveInt(a, "mlp_hidden", "atp"),
    numFeatures: positiveInt(a, "num_features", "atp"),
    targetKeep: num(a, "target_keep", "atp"),
    selfNorm: selfNormOf(a.self_norm),
    merge: a.merge === undefined ? false : boolOf(a.merge, "atp.merge"),
    input: a.input === undefined ? false : boolOf(a.input, "atp.input"),
    questionState: a.question_state === undefined ? false : boolOf(a.question_state, "atp.question_state"),
  };
  if (
    !atp.layers.length ||
    atp.layers.some((l, i) => l < 0 || l >= layers - 1 || (i && l <= atp.layers[i - 1]))
  )
    throw new Error("config: atp.layers must increase within [0, num_hidden_layers - 1)");
  if (atp.input && atp.layers[0] !== 0)
    throw new Error("config: atp.input needs the first module after layer 0 (atp.layers[0] = 0)");
  if (atp.gridStrides.some((s) => s < 1)) throw new Error("config: atp.grid_strides must be positive");
  return atp;
}
