// The check's interleaving (tools/bench/cost-measure.ts): a seeded permutation, the same for a seed.
import { describe, expect, it } from "vitest";
import { shuffledOrder } from "../../../tools/bench/cost-measure";

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
