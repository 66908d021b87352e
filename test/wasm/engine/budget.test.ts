// chooseBudget (wasm/engine/budget.ts): the point with the most tokens that fits, planned at its
// 95th-percentile count, and the minimum named when nothing fits.
import { describe, expect, it } from "vitest";
import { BudgetTooSmall, chooseBudget, workAt } from "../../../wasm/engine/budget";
import type { BudgetPoint, PlatformCost } from "../../../wasm/engine/cost";

// one ms per prompt row per layer, nothing else: a request costs the sum of its rows over layers
const ROW: PlatformCost = {
  key: "node/relaxed",
  host: "test",
  measuredAt: "",
  safety: 1,
  rates: {
    decode: {},
    preprocess: { fixedMs: 0, perMpxMs: 0 },
    vision: {
      fixedMs: 0,
      layers: 2,
      layer: { fixedMs: 0, perRowMs: 0, perRowSqMs: 0 },
      projector: { fixedMs: 0, perRowMs: 0 },
    },
    layer: { fixedMs: 0, perRowMs: 1, perRowSqMs: 0 },
    headMs: 0,
    decode_step: { fixedMs: 0, perKvRowMs: 0 },
  },
  methods: {
    m: [
      { keep: 0.5, visualPerLayer: [16, 8, 8], p95Ratio: 1 },
      { keep: 0.25, visualPerLayer: [16, 4, 4], p95Ratio: 1.5 },
      { keep: 0.1, visualPerLayer: [8, 2, 2], p95Ratio: 1 },
    ].map((p) => ({ ...p, countBy: "mean", knobs: { k: p.keep }, pruneMs: 0.5 }) as BudgetPoint),
  },
};
const REQ = { imageFormat: "raw" as const, imagePixels: 0, promptTokens: 4 + 16, numVisual: 16, tokens: 1 };

describe("chooseBudget", () => {
  it("takes the point with the most tokens that fits", () => {
    // 4 text rows x 3 layers = 12, + visual rows, + 0.5 pruning: [16, 8, 8] 44.5; [16, 4, 4] planned at its
    // p95 (x 1.5) [16, 6, 6] 40.5; [8, 2, 2] 24.5
    expect(chooseBudget(ROW, "m", 44.5, REQ).point.keep).toBe(0.5);
    expect(chooseBudget(ROW, "m", 44.4, REQ).point.keep).toBe(0.25);
    expect(chooseBudget(ROW, "m", 40.5, REQ).predicted.totalMs).toBeCloseTo(40.5, 9);
    expect(chooseBudget(ROW, "m", 40.4, REQ).point.keep).toBe(0.1);
  });

  it("plans for the prediction's error with the row's safety factor", () => {
    const safe = { ...ROW, safety: 1.1 };
    expect(chooseBudget(safe, "m", 44.5 * 1.1, REQ).point.keep).toBe(0.5);
    expect(chooseBudget(safe, "m", 44.5 * 1.1 - 0.01, REQ).point.keep).toBe(0.25);
    expect(() => chooseBudget(safe, "m", 24.5 * 1.1 - 0.01, REQ)).toThrow(BudgetTooSmall);
  });

  it("plans at the host's pace: a slower host gets fewer tokens for the same budget", () => {
    // 44.5 fits [16, 8, 8] at the table's speed; 1.2x slower it costs 53.4, so 44.5 buys the next point
    expect(chooseBudget(ROW, "m", 44.5, REQ, 1).point.keep).toBe(0.5);
    const slow = chooseBudget(ROW, "m", 44.5, REQ, 1.2);
    expect(slow.point.keep).toBe(0.1);
    expect(slow.pace).toBe(1.2);
    expect(slow.predicted.totalMs).toBeCloseTo(24.5, 9); // the table's own figure, before the pace
    // a faster host buys more: 40.5 / 0.9 = 45 >= 44.5
    expect(chooseBudget(ROW, "m", 40.5, REQ, 0.9).point.keep).toBe(0.5);
    try {
      chooseBudget(ROW, "m", 24.5, REQ, 2);
      throw new Error("should not fit");
    } catch (err) {
      expect((err as BudgetTooSmall).minimumMs).toBeCloseTo(49, 9); // the minimum at the pace
    }
  });

  it("plans an adaptive point at its 95th percentile, never past every token", () => {
    expect(workAt(ROW.methods.m[1], REQ).visualPerLayer).toEqual([16, 6, 6]);
    expect(workAt({ ...ROW.methods.m[1], p95Ratio: 9 }, REQ).visualPerLayer).toEqual([16, 16, 16]);
  });

  it("names the least the request needs when nothing fits", () => {
    try {
      chooseBudget(ROW, "m", 20, REQ);
      throw new Error("should not fit");
    } catch (err) {
      expect(err).toBeInstanceOf(BudgetTooSmall);
      expect((err as BudgetTooSmall).minimumMs).toBeCloseTo(24.5, 9);
      expect((err as BudgetTooSmall).message).toMatch(/below the 25 ms/);
    }
    expect(() => chooseBudget(ROW, "other", 1000, REQ)).toThrow(/no CPU budget points/);
  });
});
