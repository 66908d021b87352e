// The LLaVA-style prompt layout of atp-tiny, defined once (docs/data.md):
//   <bos> <image>*144 {question tokens} <sep> {answer tokens} <eos>
// The model is trained with next-token loss on the answer tokens and <eos> only.
import { IMAGE_SIZE } from "./scene";
import { BOS_ID, EOS_ID, IMAGE_ID, NUM_PATCH_CLASSES, PAD_ID, SEP_ID, SHAPES, UNK_ID, VOCAB } from "./vocab";

/** ViT patch side in pixels; 96 / 8 = 12 patches per side. */
export const PATCH_SIZE = 8;
/** Number of visual tokens per image: (96 / 8)^2 = 144. */
export const NUM_IMAGE_TOKENS = (IMAGE_SIZE / PATCH_SIZE) ** 2;
/** Longest question in tokens ("what color is the object closest to the red object?" = 11, with slack). */
export const MAX_QUESTION_TOKENS = 16;
/** Longest answer in tokens incl. <eos>: 8-object caption = 8 * 2 words + 7 commas + <eos> = 24. */
export const MAX_ANSWER_TOKENS = 24;
/** Longest full sequence: <bos> + image + question + <sep> + answer. */
export const MAX_SEQUENCE = 1 + NUM_IMAGE_TOKENS + MAX_QUESTION_TOKENS + 1 + MAX_ANSWER_TOKENS;

/** Prompt ids up to and including <sep> (what the model sees before it starts answering). */
export function promptIds(qIds: readonly number[]): number[] {
  return [BOS_ID, ...new Array<number>(NUM_IMAGE_TOKENS).fill(IMAGE_ID), ...qIds, SEP_ID];
}

/** Full training sequence; `aIds` already ends with <eos> (as in the jsonl). Loss mask: answer positions. */
export function sequenceIds(
  qIds: readonly number[],
  aIds: readonly number[],
): { ids: number[]; lossFrom: number } {
  const p = promptIds(qIds);
  return { ids: [...p, ...aIds], lossFrom: p.length };
}

/** The constants a consumer (trainer, engine) needs, as written to config.json. */
export function promptConfig(): Record<string, unknown> {
  return {
    image_size: IMAGE_SIZE,
    image_channels: 3,
    patch_size: PATCH_SIZE,
    num_image_tokens: NUM_IMAGE_TOKENS,
    vocab_size: VOCAB.length,
    pad_id: PAD_ID,
    bos_id: BOS_ID,
    eos_id: EOS_ID,
    image_id: IMAGE_ID,
    sep_id: SEP_ID,
    unk_id: UNK_ID,
    max_question_tokens: MAX_QUESTION_TOKENS,
    max_answer_tokens: MAX_ANSWER_TOKENS,
    max_sequence: MAX_SEQUENCE,
    num_patch_classes: NUM_PATCH_CLASSES,
    num_patch_shapes: SHAPES.length, // patch class = 1 + colour * num_patch_shapes + shape (0: background)
    layout: "<bos> <image>*144 {question} <sep> {answer} <eos>; loss on answer and <eos>",
  };
}
