// The check's interleaving (tools/bench/cost-measure.ts): a seeded permutation, the same for a seed; the
// host's drift from the sentinels' block means; its speed at a point of the run from the probes around it;
// the calibration's ratios around a plan made at the pace (the table's safety factor).
import { describe, expect, it } from "vitest";
import {
  hostDrift,
  pacedRatios,
  PROBE_EVERY,
  PROBE_SIZE,
  runLayout,
  shuffledOrder,
  speedAt,
} from "../../../tools/bench/cost-measure";

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

describe("speedAt", () => {
  const probes = [
    { at: 0, ttftMs: 15 },
    { at: 1000, ttftMs: 15 },
    { at: 2000, ttftMs: 25 }, // a slow spell began between the second and third probes
    { at: 3000, ttftMs: 25 },
  ];

  it("is a probe's speed at its position and linear between two", () => {
    expect(speedAt(probes, 0)).toBe(15);
    expect(speedAt(probes, 1000)).toBe(15);
    expect(speedAt(probes, 1500)).toBeCloseTo(20, 10);
    expect(speedAt(probes, 1750)).toBeCloseTo(22.5, 10);
    expect(speedAt(probes, 2500)).toBe(25);
  });

  it("holds the first and last probes' speed outside them, in any order given", () => {
    expect(speedAt(probes, -5)).toBe(15);
    expect(speedAt(probes, 9000)).toBe(25);
    expect(speedAt([...probes].reverse(), 1500)).toBeCloseTo(20, 10);
  });

  it("with two probes at one position, reads the first up to it and the second after; refuses none", () => {
    expect(
      speedAt(
        [
          { at: 0, ttftMs: 14 },
          { at: 0, ttftMs: 16 },
          { at: 10, ttftMs: 16 },
        ],
        0,
      ),
    ).toBe(14);
    expect(
      speedAt(
        [
          { at: 0, ttftMs: 14 },
          { at: 0, ttftMs: 16 },
          { at: 10, ttftMs: 16 },
        ],
        5,
      ),
    ).toBe(16);
    expect(() => speedAt([], 3)).toThrow(/no probes/);
  });
});

describe("runLayout", () => {
  it("brackets the requests with the sentinels and probes the host after every block but the last", () => {
    const n = 2 * PROBE_EVERY + 7;
    const slots = runLayout(n, 30);
    const kinds = (k: string) => slots.filter((s) => s.kind === k);
    expect(kinds("warm")).toHaveLength(30);
    expect(kinds("before")).toHaveLength(30);
    expect(kinds("after")).toHaveLength(30);
    expect(kinds("probe")).toHaveLength(2 * PROBE_SIZE);
    // every request once, in run order
    expect(slots.flatMap((s) => (s.kind === "req" ? [s.j] : []))).toEqual([...Array(n).keys()]);
    // a probe follows exactly the requests its `at` counts
    slots.forEach((s, i) => {
      if (s.kind !== "probe") return;
      const before = slots.slice(0, i).filter((x) => x.kind === "req").length;
      expect(s.at).toBe(before);
    });
    expect(slots.slice(0, 60).every((s) => s.kind === "warm" || s.kind === "before")).toBe(true);
    expect(slots.slice(-30).every((s) => s.kind === "after" && s.at === n)).toBe(true);
  });

  it("puts no probe after a last block that fills up exactly, nor in a run shorter than a block", () => {
    expect(runLayout(PROBE_EVERY, 30).filter((s) => s.kind === "probe")).toHaveLength(0);
    expect(runLayout(PROBE_EVERY + 1, 30).filter((s) => s.kind === "probe")).toHaveLength(PROBE_SIZE);
    expect(runLayout(0, 5).map((s) => s.kind)).toEqual([
      ...Array(10).fill("warm").fill("before", 5),
      ...Array(5).fill("after"),
    ]);
  });

  it("probes with every sentinel there is when fewer than PROBE_SIZE are given", () => {
    const slots = runLayout(PROBE_EVERY + 1, 3);
    expect(
      slots.filter((s) => s.kind === "probe").map((s) => (s.kind === "probe" ? s.sentinel : -1)),
    ).toEqual([0, 1, 2]);
  });
});

describe("pacedRatios", () => {
  // 200 requests predicted at 10 ms; the host runs them at 10 ms, then 1.6x slower from the 100th on
  const run = Array.from({ length: 200 }, (_, i) => {
    const ms = i < 100 ? 10 : 16;
    return {
      position: i,
      ttftMs: ms,
      predictedTtftMs: 10,
      cpuMs: 1.1 * ms,
      predictedCpuMs: 11,
      counted: true,
    };
  });
  const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(0.95 * xs.length)];

  it("divides each ratio by the pace a model had when the request started", () => {
    const raw = run.map((s) => s.cpuMs / s.predictedCpuMs);
    expect(p95(raw)).toBeGreaterThan(1.4); // the slow spell, unpaced
    const paced = pacedRatios(run);
    expect(paced).toHaveLength(200);
    // until the pace has its samples, and within half its window after the change, the raw ratio
    expect(paced[0]).toBeCloseTo(1, 12);
    expect(paced[100]).toBeGreaterThan(1.4);
    expect(paced[110]).toBeCloseTo(1, 12);
    expect(paced.filter((r) => r > 1.05).length).toBeLessThanOrEqual(5);
    expect(p95(paced)).toBeCloseTo(1, 12);
  });

  it("reads the run's order from the positions, and leaves uncounted requests out", () => {
    const reversed = [...run].reverse();
    expect(pacedRatios(reversed)).toEqual(pacedRatios(run));
    const some = run.map((s, i) => ({ ...s, counted: i % 2 === 0 }));
    expect(pacedRatios(some)).toEqual(pacedRatios(run).filter((_, i) => i % 2 === 0));
  });
});
