// The check's interleaving (tools/bench/cost-measure.ts): a seeded permutation, the same for a seed; and
// the host's drift from the sentinels' block means.
import { describe, expect, it } from "vitest";
import { hostDrift, shuffledOrder } from "../../../tools/bench/cost-measure";

describe("shuffledOrder", () => {
  it("is a permutation of 0..n-1, fixed by its seed", () => {
    const a = shuffledOrder(500, 7);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(shuffledOrder(500, 7)).toEqual(a);
    expect(shuffledOrder(500, 8)).not.toEqual(a);
  });

  it("spreads a run of consecutive requests over the whole order", () => {
    // the first tenth of the requests (one method's cell, say) lands across all ten tenths of the run
    const order = shuffledOrder(1000, 3);
    const tenths = new Set(
      order.map((r, pos) => (r < 100 ? Math.floor(pos / 100) : -1)).filter((t) => t >= 0),
    );
    expect(tenths.size).toBe(10);
  });

  it("handles the empty and one-element orders", () => {
    expect(shuffledOrder(0, 1)).toEqual([]);
    expect(shuffledOrder(1, 1)).toEqual([0]);
  });
});

describe("hostDrift", () => {
  it("is the spread of the blocks' means, max / min - 1, whatever their order", () => {
    expect(hostDrift([16, 16, 16, 16])).toBe(0);
    expect(hostDrift([16, 17.6, 16.5, 16.2])).toBeCloseTo(0.1, 10);
    expect(hostDrift([20, 16, 16, 16])).toBeCloseTo(hostDrift([16, 16, 16, 20]), 10);
    expect(hostDrift([16, 20])).toBeCloseTo(0.25, 10); // a host 25% slower after the calibration
  });
});
