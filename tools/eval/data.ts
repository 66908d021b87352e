// Evaluation questions: a fixed split from data/ (PREFIX.images.u8 + PREFIX.jsonl, docs/data.md; built by
// the generator first when missing) or a fresh stream made by the generator's API (tools/shapesvqa) for a
// seed and a count.
import { readFileSync } from "node:fs";
import { ensureSplit } from "../shapesvqa/build";
import { generateSplit, splitSpec } from "../shapesvqa/dataset";
import { IMAGE_BYTES, renderScene } from "../shapesvqa/render";
import { IMAGE_SIZE } from "../shapesvqa/scene";
import { Encoder } from "../shapesvqa/tokenizer";
import type { Family } from "../shapesvqa/vocab";

/** One question with its image (96 x 96 RGB). */
export interface EvalItem {
  family: Family;
  question: string;
  answer: string;
  qIds: number[];
  image: Uint8Array;
  imageIndex: number;
  /** Objects in the scene (adaptivity tables), when known. */
  nObjects?: number;
}

interface Line {
  image: number;
  family: Family;
  question: string;
  answer: string;
  q_ids: number[];
  n_objects?: number;
}

/** The questions of <dataDir>/<split>.{images.u8,jsonl} (val or test), generated first if missing. */
export function loadSplit(dataDir: string, split: "val" | "test"): EvalItem[] {
  const prefix = `${dataDir}/${split}`;
  ensureSplit(split, prefix);
  const images = readFileSync(`${prefix}.images.u8`);
  const lines = readFileSync(`${prefix}.jsonl`, "utf8").split("\n").filter(Boolean);
  return lines.map((l) => {
    const q = JSON.parse(l) as Line;
    const image = new Uint8Array(images.buffer, images.byteOffset + q.image * IMAGE_BYTES, IMAGE_BYTES);
    return {
      family: q.family,
      question: q.question,
      answer: q.answer,
      qIds: q.q_ids,
      image,
      imageIndex: q.image,
      nObjects: q.n_objects,
    };
  });
}

/** `count` fresh questions of the generator's stream for `seed` (rendered and tokenized here). */
export function generateItems(seed: number, count: number): EvalItem[] {
  const enc = new Encoder();
  const items: EvalItem[] = [];
  for (const img of generateSplit(splitSpec("train", seed, count))) {
    const image = renderScene(img.scene);
    for (const qa of img.qas) {
      items.push({
        family: qa.family,
        question: qa.question,
        answer: qa.answer,
        qIds: [...enc.encode(qa.question)],
        image,
        imageIndex: img.index,
      });
    }
  }
  return items;
}

/** Side of the generator's images (the model's input size for atp-tiny). */
export const EVAL_IMAGE_SIZE = IMAGE_SIZE;

/** An evaluation question's image as the engine takes it. */
export const itemImage = (it: EvalItem) => ({
  data: it.image,
  width: EVAL_IMAGE_SIZE,
  height: EVAL_IMAGE_SIZE,
});
