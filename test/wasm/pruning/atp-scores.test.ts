// ATP's scores (wasm/pruning/atp.ts atpScores) on a synthetic attention pattern: under uniform causal
// attention the "visible" S_self is 1 for every visual token (no position bias) while the shipped "sum"
// form is H(n) - H(j) + 1/(j + 1), ~5.6 for the first of 144 tokens and 1/144 for the last; the cross
// score is 1 for every token either way. The same checks as training/test_atp.py's, on the engine side;
// and the question state the MLP reads with atp.question_state (training/atp.py question_state).
import { describe, expect, it } from "vitest";
import { atpScores, questionState } from "../../../wasm/pruning/atp";
import type { CapturedAttention, LayerView } from "../../../wasm/pruning/policy";
import { parseConfig } from "../../../wasm/config";
import { TINY_ATP_CONFIG } from "../helpers/tiny";

/** <bos>, n visual rows, t instruction rows; every row attends uniformly to the rows at or before it. */
function uniformCausal(n: number, t: number): { view: LayerView; a: CapturedAttention } {
  const keys = 1 + n + t;
  const visualRows = Int32Array.from({ length: n }, (_, i) => 1 + i);
  const textRows = Int32Array.from({ length: t }, (_, i) => 1 + n + i);
  const rows = Int32Array.from([...visualRows, ...textRows]);
  const probs = new Float32Array(rows.length * keys);
  rows.forEach((r, i) => {
    for (let k = 0; k <= r; k++) probs[i * keys + k] = 1 / (r + 1);
  });
  const view = { visualRows, textRows, numVisual: n } as unknown as LayerView;
  return { view, a: { rows, probs, keys } };
}

describe("ATP's self score", () => {
  it('is 1 for every token under uniform causal attention with self_norm "visible"', () => {
    const { view, a } = uniformCausal(144, 6);
    const s = atpScores(view, a, "visible");
    for (let j = 0; j < 144; j++) {
      expect(s.self[j]).toBeCloseTo(1, 5);
      expect(s.cross[j]).toBeCloseTo(1, 5);
    }
  });

  it('carries the first-rows bias H(n) - H(j) with the shipped "sum"', () => {
    const n = 144;
    const { view, a } = uniformCausal(n, 6);
    const s = atpScores(view, a, "sum");
    const H = (k: number) => Array.from({ length: k }, (_, i) => 1 / (i + 1)).reduce((x, y) => x + y, 0);
    for (let j = 0; j < n; j++) expect(s.self[j]).toBeCloseTo(H(n) - H(j), 4);
    expect(s.self[0]).toBeGreaterThan(5.5);
    expect(s.self[n - 1]).toBeCloseTo(1 / n, 6);
    expect(atpScores(view, a).self).toEqual(s.self); // "sum" is the default
  });
});

describe("ATP's scores of merged rows", () => {
  it("score a row that stands for s patches per patch with perPatch, and leave rows of one patch alone", () => {
    const { view, a } = uniformCausal(12, 4);
    const sizes = Float32Array.from({ length: 12 }, (_, j) => (j % 3 === 1 ? 3 : 1));
    const merged = { ...view, visualSizes: sizes } as LayerView;
    for (const norm of ["visible", "sum"] as const) {
      const plain = atpScores(merged, a, norm);
      const per = atpScores(merged, a, norm, true);
      for (let j = 0; j < 12; j++) {
        expect(per.self[j]).toBeCloseTo(plain.self[j] / sizes[j], 10);
        expect(per.cross[j]).toBeCloseTo(plain.cross[j] / sizes[j], 10);
        expect(per.logR[j]).toBeLessThanOrEqual(plain.logR[j]);
        if (sizes[j] === 1) expect(per.logR[j]).toBe(plain.logR[j]);
      }
    }
  });

  it("change nothing where every row is one patch (the unreduced path)", () => {
    const { view, a } = uniformCausal(20, 5);
    const ones = { ...view, visualSizes: new Float32Array(20).fill(1) } as LayerView;
    expect(atpScores(ones, a, "visible", true)).toEqual(atpScores(ones, a, "visible"));
  });
});

describe("config.json atp.self_norm", () => {
  it('defaults to "sum" (what the shipped modules were trained with) and refuses unknown forms', () => {
    expect(parseConfig(TINY_ATP_CONFIG).atp!.selfNorm).toBe("sum");
    const visible = { ...TINY_ATP_CONFIG, atp: { ...TINY_ATP_CONFIG.atp, self_norm: "visible" } };
    expect(parseConfig(visible).atp!.selfNorm).toBe("visible");
    const bad = { ...TINY_ATP_CONFIG, atp: { ...TINY_ATP_CONFIG.atp, self_norm: "rows" } };
    expect(() => parseConfig(bad)).toThrow(/atp.self_norm must be "sum" or "visible"/);
  });
});

describe("ATP's question state", () => {
  it("is the instruction rows' mean hidden state over its root mean square", () => {
    const dim = 4;
    // rows 0-3 of a [5, 4] hidden state; the instruction rows are 1 and 3
    const hidden = Float32Array.from([9, 9, 9, 9, 1, 2, 3, 4, 9, 9, 9, 9, 3, 2, 1, -4, 9, 9, 9, 9]);
    const q = questionState(hidden, dim, Int32Array.from([1, 3]));
    const mean = [2, 2, 2, 0];
    const rms = Math.sqrt((4 + 4 + 4 + 0) / 4 + 1e-6);
    mean.forEach((m, c) => expect(q[c]).toBeCloseTo(m / rms, 6));
  });

  it("is read from config.json atp.question_state, with numFeatures 9 + the LLM's hidden size", () => {
    expect(parseConfig(TINY_ATP_CONFIG).atp!.questionState).toBe(false);
    const withQ = { ...TINY_ATP_CONFIG, atp: { ...TINY_ATP_CONFIG.atp, question_state: true } };
    expect(parseConfig(withQ).atp!.questionState).toBe(true);
    const bad = { ...TINY_ATP_CONFIG, atp: { ...TINY_ATP_CONFIG.atp, question_state: "yes" } };
    expect(() => parseConfig(bad)).toThrow(/atp.question_state must be true or false/);
  });
});
