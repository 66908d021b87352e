import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  EVAL_QUESTIONS,
  familyQuotas,
  generateSplit,
  MAX_QUESTIONS_PER_IMAGE,
  QUESTIONS_PER_IMAGE,
  SPLIT_DOMAIN,
  splitSpec,
  type SplitSpec,
} from "../../../tools/shapesvqa/dataset";
import { renderScene } from "../../../tools/shapesvqa/render";
import { FAMILIES } from "../../../tools/shapesvqa/vocab";

/** SHA-256 over every rendered image and question of a split. */
function digest(spec: SplitSpec): string {
  const h = createHash("sha256");
  for (const img of generateSplit(spec)) {
    h.update(renderScene(img.scene));
    h.update(JSON.stringify(img.qas));
  }
  return h.digest("hex");
}

const imageHashes = (spec: SplitSpec) =>
  [...generateSplit(spec)].map((img) => createHash("sha1").update(renderScene(img.scene)).digest("hex"));

describe("generateSplit", () => {
  it("is deterministic: two runs give identical bytes", () => {
    const spec = splitSpec("train", 3, 200);
    expect(digest(spec)).toBe(digest(spec));
    expect(digest(splitSpec("train", 4, 200))).not.toBe(digest(spec));
  });

  it("pins a golden digest (integer-only generator: platform independent; update on purpose only)", () => {
    expect(digest(splitSpec("train", 1, 40))).toBe(GOLDEN_TRAIN_1_40);
  });

  it("val and test hold exactly 2,000 questions with per-family quotas", () => {
    for (const split of ["val", "test"] as const) {
      const imgs = [...generateSplit(splitSpec(split))];
      const qas = imgs.flatMap((i) => i.qas);
      expect(qas).toHaveLength(EVAL_QUESTIONS);
      const q = familyQuotas(EVAL_QUESTIONS);
      for (const f of FAMILIES) expect(qas.filter((a) => a.family === f)).toHaveLength(q[f]);
      imgs.forEach((img, i) => {
        expect(img.index).toBe(i);
        expect(new Set(img.qas.map((a) => a.family)).size).toBe(img.qas.length); // distinct families per image
        expect(img.qas.length).toBeLessThanOrEqual(QUESTIONS_PER_IMAGE);
      });
    }
  });

  it("train keeps families and exist answers balanced in any prefix", () => {
    const qas = [...generateSplit(splitSpec("train", 1, 7000))].flatMap((i) => i.qas);
    expect(qas).toHaveLength(7000);
    for (const f of FAMILIES)
      expect(Math.abs(qas.filter((a) => a.family === f).length - 1000)).toBeLessThan(20);
    const exist = qas.filter((a) => a.family === "exist");
    const yes = exist.filter((a) => a.answer === "yes").length;
    expect(Math.abs(yes / exist.length - 0.5)).toBeLessThan(0.01);
  });

  it("val, test and train streams share no image", () => {
    expect(new Set(Object.values(SPLIT_DOMAIN)).size).toBe(3);
    const val = new Set(imageHashes(splitSpec("val")));
    const test = imageHashes(splitSpec("test"));
    const train = [...imageHashes(splitSpec("train", 1, 1000)), ...imageHashes(splitSpec("train", 2, 1000))];
    expect(val.size).toBeGreaterThan(400);
    for (const h of [...test, ...train]) expect(val.has(h)).toBe(false);
    const testSet = new Set(test);
    for (const h of train) expect(testSet.has(h)).toBe(false);
  });

  it("rejects train specs without a seed or count, seeds on val/test and bad --per-image", () => {
    expect(() => splitSpec("train", undefined, 10)).toThrow();
    expect(() => splitSpec("train", 0, 10)).toThrow();
    expect(() => splitSpec("train", 1)).toThrow();
    expect(() => splitSpec("val", 3)).toThrow();
    expect(() => splitSpec("test", undefined, undefined, 16)).toThrow(/fixed for test/);
    for (const k of [0, 2.5, MAX_QUESTIONS_PER_IMAGE + 1])
      expect(() => splitSpec("train", 1, 10, k)).toThrow(/per-image/);
  });

  it("train with --per-image 16: more questions per image, none repeated, one caption, same scenes", () => {
    const imgs = [...generateSplit(splitSpec("train", 1, 3200, 16))];
    const qas = imgs.flatMap((i) => i.qas);
    expect(qas).toHaveLength(3200);
    expect(qas.length / imgs.length).toBeGreaterThan(14); // small scenes run out of distinct questions
    for (const img of imgs) {
      expect(img.qas.length).toBeLessThanOrEqual(16);
      expect(new Set(img.qas.map((a) => a.question)).size).toBe(img.qas.length);
      expect(img.qas.filter((a) => a.family === "caption").length).toBeLessThanOrEqual(1);
    }
    for (const f of FAMILIES) expect(qas.some((a) => a.family === f)).toBe(true);
    const exist = qas.filter((a) => a.family === "exist");
    expect(Math.abs(exist.filter((a) => a.answer === "yes").length / exist.length - 0.5)).toBeLessThan(0.01);
    // The scene of image i depends only on (split, seed, i), so the same images as with 4 per image.
    const four = imageHashes(splitSpec("train", 1, 400));
    expect(imageHashes(splitSpec("train", 1, 16 * 100, 16)).slice(0, 50)).toEqual(four.slice(0, 50));
  });
});

/** digest(train, seed 1, 40 questions), recorded from the generator that wrote data/train-1. */
const GOLDEN_TRAIN_1_40 = "6887d723d71553713f2cc4081257dbb5cb2994b0a253509e470b396942f0d22c";
