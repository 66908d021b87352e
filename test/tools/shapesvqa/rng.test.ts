import { describe, expect, it } from "vitest";
import { hashSeed, Rng } from "../../../tools/shapesvqa/rng";

describe("Rng", () => {
  it("is a pure function of its seed", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 100 }, () => a.u32());
    expect(Array.from({ length: 100 }, () => b.u32())).toEqual(sa);
    expect(Array.from({ length: 100 }, () => c.u32())).not.toEqual(sa);
  });

  it("matches mulberry32 reference values (computed independently in Python)", () => {
    const r = new Rng(1);
    expect([r.u32(), r.u32(), r.u32()]).toEqual([2693262067, 11749833, 2265367787]);
  });

  it("keeps int/range within bounds and hits every value", () => {
    const r = new Rng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = r.range(-3, 4);
      expect(v).toBeGreaterThanOrEqual(-3);
      expect(v).toBeLessThanOrEqual(4);
      seen.add(v);
    }
    expect(seen.size).toBe(8);
  });

  it("shuffles into a permutation", () => {
    const items = [1, 2, 3, 4, 5, 6, 7];
    const s = new Rng(3).shuffled(items);
    expect(s.slice().sort()).toEqual(items);
    expect(items).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("hashSeed depends on every part and on their order", () => {
    expect(hashSeed(1, 2, 3)).toBe(hashSeed(1, 2, 3));
    expect(hashSeed(1, 2, 3)).not.toBe(hashSeed(3, 2, 1));
    expect(hashSeed(1, 2, 3)).not.toBe(hashSeed(1, 2, 4));
    const seeds = new Set(Array.from({ length: 10000 }, (_, i) => hashSeed(7, 1, i)));
    expect(seeds.size).toBe(10000);
  });
});
