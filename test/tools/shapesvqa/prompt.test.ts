import { describe, expect, it } from "vitest";
import { generateSplit, splitSpec } from "../../../tools/shapesvqa/dataset";
import {
  MAX_ANSWER_TOKENS,
  MAX_QUESTION_TOKENS,
  MAX_SEQUENCE,
  NUM_IMAGE_TOKENS,
  promptConfig,
  promptIds,
  sequenceIds,
} from "../../../tools/shapesvqa/prompt";
import { Encoder } from "../../../tools/shapesvqa/tokenizer";
import { BOS_ID, EOS_ID, IMAGE_ID, SEP_ID } from "../../../tools/shapesvqa/vocab";

describe("prompt layout", () => {
  it("is <bos> <image>*144 question <sep> answer <eos>", () => {
    expect(NUM_IMAGE_TOKENS).toBe(144);
    const q = [10, 11, 12];
    const p = promptIds(q);
    expect(p[0]).toBe(BOS_ID);
    expect(p.slice(1, 145).every((t) => t === IMAGE_ID)).toBe(true);
    expect(p.slice(145, 148)).toEqual(q);
    expect(p.at(-1)).toBe(SEP_ID);
    const { ids, lossFrom } = sequenceIds(q, [20, EOS_ID]);
    expect(ids.slice(lossFrom)).toEqual([20, EOS_ID]);
    expect(lossFrom).toBe(1 + 144 + 3 + 1);
    expect(promptConfig().max_sequence).toBe(MAX_SEQUENCE);
  });

  it("bounds every generated question and answer by the recorded maxima", () => {
    const enc = new Encoder();
    let maxQ = 0;
    let maxA = 0;
    for (const img of generateSplit(splitSpec("train", 9, 4000))) {
      for (const qa of img.qas) {
        maxQ = Math.max(maxQ, enc.encode(qa.question).length);
        maxA = Math.max(maxA, enc.encode(qa.answer).length + 1);
      }
    }
    expect(maxQ).toBeLessThanOrEqual(MAX_QUESTION_TOKENS);
    expect(maxA).toBeLessThanOrEqual(MAX_ANSWER_TOKENS);
    expect(maxA).toBeGreaterThan(MAX_ANSWER_TOKENS - 4); // 7-8 object captions do occur
  });
});
