// HostPace (wasm/engine/pace.ts): the median of the last ratios of measured to predicted, 1 until a few
// requests were seen or where clocks do not run, bounded, and quick to follow a change of the host's speed.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { HostPace, PACE_LIMITS, PACE_MIN_SAMPLES, PACE_WINDOW } from "../../../wasm/engine/pace";
import { COST_FORMAT, createPolicy, loadModel, MemorySource, type CostTable } from "../../../wasm/index";
import { withCostTable } from "../../../tools/convert/convert";
import { BUILDS } from "../../helpers/kernels";
import { randomImage, tinyModelFiles, TINY_ATP_CONFIG, TINY_CONFIG } from "../helpers/tiny";

const relaxed = BUILDS.find((b) => b.name === "relaxed") ?? BUILDS[0];

describe("HostPace", () => {
  it("is 1 until it has seen a few requests", () => {
    const p = new HostPace();
    for (let i = 0; i < PACE_MIN_SAMPLES - 1; i++) p.observe(15, 10);
    expect(p.factor).toBe(1);
    p.observe(15, 10);
    expect(p.factor).toBeCloseTo(1.5, 12);
  });

  it("ignores a frozen clock, a tiny prediction and ratios that are no host's speed", () => {
    const p = new HostPace();
    expect(p.observe(0, 10)).toBe(false); // Cloudflare's network: CPU-bound code reads 0 ms
    expect(p.observe(1, 1)).toBe(false); // below the clock's resolution
    expect(p.observe(100, 10)).toBe(false); // a request that waited on something else
    expect(p.observe(Number.NaN, 10)).toBe(false);
    expect(p.samples).toBe(0);
    expect(p.factor).toBe(1);
  });

  it("takes the median: one slow outlier does not move it", () => {
    const p = new HostPace();
    for (let i = 0; i < PACE_WINDOW - 1; i++) p.observe(10, 10);
    p.observe(40, 10);
    expect(p.factor).toBe(1);
  });

  it("follows a change of speed within half its window", () => {
    const p = new HostPace();
    for (let i = 0; i < 50; i++) p.observe(15, 15);
    let n = 0;
    while (p.factor < 1.5) {
      p.observe(24, 15);
      n++;
    }
    expect(n).toBe(Math.ceil(PACE_WINDOW / 2));
    expect(p.factor).toBeCloseTo(1.6, 12);
  });

  it("is the median of the last window of ratios, within its limits", () => {
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.21, max: 4.9, noNaN: true }), { minLength: 1, maxLength: 40 }),
        (rs) => {
          const p = new HostPace();
          for (const r of rs) p.observe(10 * r, 10);
          const want =
            rs.length < PACE_MIN_SAMPLES
              ? 1
              : Math.min(
                  PACE_LIMITS.high,
                  Math.max(PACE_LIMITS.low, median(rs.slice(-PACE_WINDOW).map((r) => (10 * r) / 10))),
                );
          expect(p.factor).toBeCloseTo(want, 12);
          expect(p.samples).toBe(rs.length);
        },
      ),
    );
  });
});

// Model.generate (wasm/generate.ts) hands each finished request to its pace: the measured time to first
// token and the table's prediction at the counts the request had (its pruning time as measured).
describe("Model.generate's pace", () => {
  const rates = {
    decode: {},
    preprocess: { fixedMs: 1, perMpxMs: 1000 },
    vision: {
      fixedMs: 1,
      layers: TINY_CONFIG.vision_config.num_hidden_layers,
      layer: { fixedMs: 0, perRowMs: 0.01, perRowSqMs: 0 },
      projector: { fixedMs: 0.5, perRowMs: 0 },
    },
    layer: { fixedMs: 0, perRowMs: 1, perRowSqMs: 0 },
    headMs: 0.25,
    decode_step: { fixedMs: 0, perKvRowMs: 0 },
  };
  const table: CostTable = {
    format: COST_FORMAT,
    modelId: "tiny",
    platforms: [{ key: "any", host: "hand-made", measuredAt: "", safety: 1, rates, methods: {} }],
  };
  const withTable = withCostTable(
    tinyModelFiles("q8", 1, TINY_ATP_CONFIG),
    new TextEncoder().encode(JSON.stringify(table)),
  );
  const spy = (model: { pace: HostPace }) => {
    const calls: [number, number][] = [];
    model.pace.observe = (m, p) => (calls.push([m, p]), true);
    return calls;
  };
  const IMAGE = randomImage(40, 30);

  it("observes every request of a model with a cost table, at the request's own counts", async () => {
    const model = await loadModel(new MemorySource(withTable), { kernels: relaxed.module });
    const calls = spy(model);
    for (const cached of [false, true]) {
      const done = await model.run(IMAGE, "what color is the square ?", {
        maxTokens: 2,
        policy: createPolicy("atp", {}),
        imageKey: "k",
      });
      const s = done.stats;
      expect(s.visionCached).toBe(cached);
      const t = s.timings;
      const text = s.promptTokens - model.config.imageSeqLength;
      const llm = s.visualTokens.perLayer.reduce((a, v) => a + text + v, 0);
      const prune = t.pruneMsPerLayer.reduce((a, b) => a + b, 0) + t.visionReduceMs;
      const visionPath = cached
        ? 0
        : 1 + (40 * 30 * 1000) / 1e6 + 1 + s.visionRows.perLayer.reduce((a, r) => a + 0.01 * r, 0) + 0.5;
      expect(calls.length).toBe(cached ? 2 : 1);
      expect(calls.at(-1)![0]).toBe(t.ttftMs);
      expect(calls.at(-1)![1]).toBeCloseTo(visionPath + llm + 0.25 + prune, 9);
    }
  });

  it("observes nothing without a cost table, or under a tracer", async () => {
    const plain = await loadModel(new MemorySource(tinyModelFiles("q8", 1, TINY_ATP_CONFIG)), {
      kernels: relaxed.module,
    });
    const none = spy(plain);
    await plain.run(IMAGE, "what color is the square ?", { maxTokens: 1 });
    expect(none).toEqual([]);
    const model = await loadModel(new MemorySource(withTable), { kernels: relaxed.module });
    const traced = spy(model);
    await model.run(IMAGE, "what color is the square ?", { maxTokens: 1, trace: () => {} });
    expect(traced).toEqual([]);
  });
});
