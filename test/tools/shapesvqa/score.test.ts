import { describe, expect, it } from "vitest";
import {
  accuracyTable,
  captionF1,
  exactMatch,
  normalizeAnswer,
  parseCaption,
  priorAnswers,
  priorPredictions,
  score,
} from "../../../tools/shapesvqa/score";

describe("scoring", () => {
  it("normalises case, spaces and the space before punctuation", () => {
    expect(normalizeAnswer("  Red  square , Blue circle ")).toBe("red square, blue circle");
    expect(exactMatch("YES", "yes")).toBe(true);
    expect(exactMatch("yes", "no")).toBe(false);
    expect(exactMatch("red square , blue circle", "red square, blue circle")).toBe(true);
  });

  it("parses captions into items", () => {
    expect(parseCaption("red square, blue circle ,green star")).toEqual([
      "red square",
      "blue circle",
      "green star",
    ]);
    expect(parseCaption("")).toEqual([]);
    expect(parseCaption(" , ")).toEqual([]);
  });

  it("computes per-object caption F1 as a multiset, ignoring order", () => {
    const gold = "red square, blue circle, red square";
    expect(captionF1(gold, gold)).toBe(1);
    expect(captionF1("blue circle, red square, red square", gold)).toBe(1);
    // 2 of 2 predicted are right (precision 1), 2 of 3 gold found (recall 2/3) -> F1 0.8
    expect(captionF1("red square, blue circle", gold)).toBeCloseTo(0.8, 12);
    // each gold item matches once: 2 of 3 predicted hit (precision 2/3), 2 of 3 gold found (recall 2/3)
    expect(captionF1("red square, red square, red square", gold)).toBeCloseTo(2 / 3, 12);
    expect(captionF1("green star", gold)).toBe(0);
    expect(captionF1("", gold)).toBe(0);
    expect(captionF1("", "")).toBe(1);
  });

  it("reports exact match per family and its mean over families, with caption F1", () => {
    const r = score([
      { family: "exist", answer: "yes", prediction: "yes" },
      { family: "exist", answer: "no", prediction: "yes" },
      { family: "count", answer: "two", prediction: "two" },
      { family: "caption", answer: "red square, blue circle", prediction: "red square" },
    ]);
    expect(r.families.exist).toEqual({ n: 2, exact: 0.5 });
    expect(r.families.count).toEqual({ n: 1, exact: 1 });
    expect(r.families.caption?.exact).toBe(0);
    expect(r.families.caption?.f1).toBeCloseTo(2 / 3, 12);
    expect(r.families.colour).toBeUndefined();
    expect(r.meanExact).toBeCloseTo((0.5 + 1 + 0) / 3, 12);
    expect(score([]).meanExact).toBe(0);
  });

  it("builds the prior-only baseline from the most frequent train answer per family", () => {
    const train = [
      { family: "count" as const, answer: "one" },
      { family: "count" as const, answer: "two" },
      { family: "count" as const, answer: "two" },
      { family: "exist" as const, answer: "yes" },
      { family: "exist" as const, answer: "no" },
    ];
    const prior = priorAnswers(train);
    expect(prior).toEqual({ count: "two", exist: "no" }); // exist tie -> alphabetical
    const preds = priorPredictions(prior, [
      { family: "count", answer: "two" },
      { family: "shape", answer: "star" },
    ]);
    expect(preds.map((p) => p.prediction)).toEqual(["two", ""]);
    expect(score(preds).families.count?.exact).toBe(1);
  });
});

describe("accuracyTable", () => {
  it("lists each family's exact match and the mean over families", () => {
    const r = score([
      { family: "colour", answer: "red", prediction: "red" },
      { family: "colour", answer: "red", prediction: "blue" },
      { family: "shape", answer: "circle", prediction: "circle" },
    ]);
    expect(accuracyTable(r)).toEqual({ colour: 0.5, shape: 1, mean: 0.75 });
  });
});
