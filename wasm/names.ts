// The one table of tensor names: engine name (short, shared vocabulary with the PyTorch reference),
// Hugging Face LLaVA/CLIP/Llama name (safetensors checkpoints), logical shape from the config, and whether
// the tensor is a Linear weight (quantized q8/q4) or stays f32. The converter and the engine read it.
import { headDim, type ModelConfig } from "./config";

/** One tensor the model needs. */
export interface TensorSpec {
  /** Engine / manifest name, e.g. `llm.layers.5.mlp.up.weight`. */
  name: string;
  /** Name in a Hugging Face LLaVA checkpoint. */
  hf: string;
  /** Shape as the engine stores it (Linear: [out, in]; the patch embedding flattened to [out, C*P*P]). */
  shape: number[];
  /** Linear weights are quantized (q8 by default); everything else is kept f32. */
  linear: boolean;
  /** Shape in the checkpoint when it differs (the patch embedding is a Conv2d weight [D, C, P, P]). */
  hfShape?: number[];
}

const VIT = "vision_tower.vision_model";
const LLM = "language_model.model";

function linear(name: string, hf: string, out: number, inp: number, bias: boolean): TensorSpec[] {
  const specs: TensorSpec[] = [
    { name: `${name}.weight`, hf: `${hf}.weight`, shape: [out, inp], linear: true },
  ];
  if (bias) specs.push({ name: `${name}.bias`, hf: `${hf}.bias`, shape: [out], linear: false });
  return specs;
}

function vector(name: string, hf: string, n: number, bias: boolean): TensorSpec[] {
  const specs: TensorSpec[] = [{ name: `${name}.weight`, hf: `${hf}.weight`, shape: [n], linear: false }];
  if (bias) specs.push({ name: `${name}.bias`, hf: `${hf}.bias`, shape: [n], linear: false });
  return specs;
}

/** Every tensor of the model described by `c`, in load order. */
export function tensorSpecs(c: ModelConfig): TensorSpec[] {
  const v = c.vision;
  const t = c.text;
  const hd = headDim(t);
  const patchIn = v.channels * v.patchSize * v.patchSize;
  const specs: TensorSpec[] = [
    // Conv2d(C, D, P, stride P) == Linear over the patch flattened in (c, kh, kw) order.
    {
      name: "vision.patch_embed.weight",
      hf: `${VIT}.embeddings.patch_embedding.weight`,
      shape: [v.hidden, patchIn],
      hfShape: [v.hidden, v.channels, v.patchSize, v.patchSize],
      linear: true,
    },
    {
      name: "vision.pos_embed",
      hf: `${VIT}.embeddings.position_embedding.weight`,
      shape: [c.imageSeqLength, v.hidden],
      linear: false,
    },
  ];
  for (let i = 0; i < v.layers; i++) {
    const p = `vision.layers.${i}`;
    const h = `${VIT}.encoder.layers.${i}`;
    specs.push(
      ...vector(`${p}.ln1`, `${h}.layer_norm1`, v.hidden, true),
      ...linear(`${p}.attn.q`, `${h}.self_attn.q_proj`, v.hidden, v.hidden, true),
      ...linear(`${p}.attn.k`, `${h}.self_attn.k_proj`, v.hidden, v.hidden, true),
      ...linear(`${p}.attn.v`, `${h}.self_attn.v_proj`, v.hidden, v.hidden, true),
      ...linear(`${p}.attn.o`, `${h}.self_attn.out_proj`, v.hidden, v.hidden, true),
      ...vector(`${p}.ln2`, `${h}.layer_norm2`, v.hidden, true),
      ...linear(`${p}.mlp.fc1`, `${h}.mlp.fc1`, v.intermediate, v.hidden, true),
      ...linear(`${p}.mlp.fc2`, `${h}.mlp.fc2`, v.hidden, v.intermediate, true),
    );
  }
  specs.push(
    ...vector("vision.post_ln", `${VIT}.post_layernorm`, v.hidden, true),
    ...linear("projector.fc1", "multi_modal_projector.linear_1", t.hidden, v.hidden, true),
    ...linear("projector.fc2", "multi_modal_projector.linear_2", t.hidden, t.hidden, true),
    // Tied (lm_head = the embedding): one tensor, quantized like a Linear weight, since it is lm_head; the
    // engine reads embedding rows from it (wasm/model/decoder.ts embedRow). Untied: an f32 table.
    {
      name: "llm.embed.weight",
      hf: `${LLM}.embed_tokens.weight`,
      shape: [t.vocabSize, t.hidden],
      linear: t.tieWordEmbeddings,
    },
  );
  for (let i = 0; i < t.layers; i++) {
    const p = `llm.layers.${i}`;
    const h = `${LLM}.layers.${i}`;
    specs.push(
      ...vector(`${p}.attn_norm`, `${h}.input_layernorm`, t.hidden, false),
      ...linear(`${p}.attn.q`, `${h}.self_attn.q_proj`, t.heads * hd, t.hidden, false),
      ...linear(`${p}.attn.k`, `${h}.self_attn.k_proj`, t.kvHeads * hd, t.hidden, false),
      ...linear(`${p}.attn.v`, `${h}.self_attn.v_proj`, t.kvHeads * hd, t.hidden, false),
      ...linear(`${p}.attn.o`, `${h}.self_attn.o_proj`, t.hidden, t.heads * hd, false),
      ...vector(`${p}.mlp_norm`, `${h}.post_attention_layernorm`, t.hidden, false),
      ...linear(`${p}.mlp.gate`, `${h}.mlp.gate_proj`, t.intermediate, t.hidden, false),
      ...linear(`${p}.mlp.up`, `${h}.mlp.up_proj`, t.intermediate, t.hidden, false),
      ...linear(`${p}.mlp.down`, `${h}.mlp.down_proj`, t.hidden, t.intermediate, false),
    );
  }
  specs.push(...vector("llm.norm", `${LLM}.norm`, t.hidden, false));
  if (!t.tieWordEmbeddings)
    specs.push(...linear("llm.head", "language_model.lm_head", t.vocabSize, t.hidden, false));
  if (c.atp) specs.push(...atpSpecs(c.atp));
  return specs;
}

/**
 * ATP threshold MLPs (training/atp.py), one per module: `atp.{k}.mlp.fc1` [hidden, features] and
 * `atp.{k}.mlp.fc2` [2, hidden], with biases; same names in the checkpoint. A few thousand values: kept
 * f32 (not quantized), so the pruning decisions do not depend on the weight format.
 */
function atpSpecs(a: NonNullable<ModelConfig["atp"]>): TensorSpec[] {
  const f32 = (name: string, shape: number[]): TensorSpec => ({ name, hf: name, shape, linear: false });
  return a.layers.flatMap((_, k) => [
    f32(`atp.${k}.mlp.fc1.weight`, [a.mlpHidden, a.numFeatures]),
    f32(`atp.${k}.mlp.fc1.bias`, [a.mlpHidden]),
    f32(`atp.${k}.mlp.fc2.weight`, [2, a.mlpHidden]),
    f32(`atp.${k}.mlp.fc2.bias`, [2]),
  ]);
}

/**
 * A part of the model one stage of a split model runs (wasm/split.ts): the vision tower and projector,
 * and/or the decoder layers [from, to). The stage holding layer 0 embeds the prompt; the stage holding
 * the last layer runs the final norm and lm_head. The whole model is { vision: true, from: 0, to: L }.
 */
export interface ModelPart {
  vision: boolean;
  from: number;
  to: number;
}

/** The whole model as one part. */
export function wholeModel(c: ModelConfig): ModelPart {
  return { vision: true, from: 0, to: c.text.layers };
}

/**
 * Parses a stage's part: "vision", "A-B" (decoder layers A..B inclusive) or "vision+A-B"; throws a message
 * naming what is wrong.
 */
export function parsePart(text: string, c: ModelConfig): ModelPart {
  const m = /^(vision)?(?:\+?(\d+)-(\d+))?$/.exec(text.trim());
  const L = c.text.layers;
  if (!m || (!m[1] && m[2] === undefined))
    throw new Error(`split: stage "${text}" is not "vision", "A-B" or "vision+A-B"`);
  const from = m[2] === undefined ? 0 : Number(m[2]);
  const to = m[3] === undefined ? 0 : Number(m[3]) + 1;
  if (m[2] !== undefined && !(from < to && to <= L))
    throw new Error(`split: stage "${text}" names layers outside 0-${L - 1}`);
  return { vision: m[1] === "vision", from, to };
}

/** Whether the tensor `name` of the model `c` belongs to `part`. */
export function inPart(name: string, c: ModelConfig, part: ModelPart): boolean {
  if (name.startsWith("vision.") || name.startsWith("projector.")) return part.vision;
  const decoder = part.to > part.from;
  const layer = /^llm\.layers\.(\d+)\./.exec(name);
  if (layer) return Number(layer[1]) >= part.from && Number(layer[1]) < part.to;
  const last = part.to === c.text.layers;
  // the embedding: the first stage embeds the prompt; tied, it is also the last stage's lm_head
  if (name === "llm.embed.weight") return decoder && (part.from === 0 || (last && c.text.tieWordEmbeddings));
  if (name === "llm.head.weight") return decoder && last;
  if (name === "llm.norm.weight") return decoder; // also read by DART's scoring, wherever its layer is
  const atp = /^atp\.(\d+)\./.exec(name);
  if (atp && c.atp) {
    const l = c.atp.layers[Number(atp[1])];
    return l >= part.from && l < part.to;
  }
  return true;
}
