// The cost model (wasm/engine/cost.ts): predictions worked by hand, the fit recovering the rates that
// generated synthetic samples, the platform row fallback, and a row carried to new weights' points.
import { describe, expect, it } from "vitest";
import {
  decodeKvRows,
  fitNonNegative,
  fitRates,
  platformKey,
  platformRow,
  predictCost,
  withPointsOf,
  type BudgetPoint,
  type CostRates,
  type CostSample,
  type CostTable,
  type RequestWork,
} from "../../../wasm/engine/cost";

const RATES: CostRates = {
  decode: { png: { fixedMs: 0.5, perMpxMs: 20, perMBMs: 0 }, jpeg: { fixedMs: 1, perMpxMs: 4, perMBMs: 15 } },
  preprocess: { fixedMs: 0.25, perMpxMs: 6 },
  vision: {
    fixedMs: 0.5,
    layers: 2,
    layer: { fixedMs: 0.2, perRowMs: 0.02, perRowSqMs: 0.0002 },
    projector: { fixedMs: 0.1, perRowMs: 0.005 },
  },
  layer: { fixedMs: 0.05, perRowMs: 0.01, perRowSqMs: 0.0001 },
  headMs: 0.02,
  decode_step: { fixedMs: 0.1, perKvRowMs: 0.001 },
};

const WORK: RequestWork = {
  imageFormat: "png",
  imagePixels: 1e6,
  promptTokens: 20 + 16,
  numVisual: 16,
  visualPerLayer: [16, 8],
  pruneMs: 0.3,
  tokens: 3,
};

describe("predictCost", () => {
  it("adds the terms as docs/cost.md writes them (worked by hand)", () => {
    const p = predictCost(RATES, WORK);
    expect(p.imageMs).toBeCloseTo(0.5 + 20, 9);
    expect(p.preprocessMs).toBeCloseTo(0.25 + 6, 9);
    // a 2 MB JPEG of 1 Mpx decoded to 0.25 Mpx: 1 + 4 x 1 + 15 x 2, preprocessing the decoded pixels
    const jpeg = predictCost(RATES, { ...WORK, imageFormat: "jpeg", imageBytes: 2e6, inputPixels: 0.25e6 });
    expect(jpeg.imageMs).toBeCloseTo(35, 9);
    expect(jpeg.preprocessMs).toBeCloseTo(0.25 + 1.5, 9);
    // rows 36 and 28: 2 x 0.05 + 0.01 x 64 + 0.0001 x (1296 + 784), + head + pruning
    expect(p.prefillMs).toBeCloseTo(0.1 + 0.64 + 0.208 + 0.02 + 0.3, 9);
    // two encoder layers at 16 rows: 0.5 + 2 x (0.2 + 0.32 + 0.0512) + 0.1 + 0.08
    expect(p.visionMs).toBeCloseTo(0.5 + 2 * (0.2 + 0.32 + 0.0512) + 0.1 + 0.08, 9);
    expect(p.ttftMs).toBeCloseTo(p.preprocessMs + p.visionMs + p.prefillMs, 9);
    // a vision reduction to 4 rows after the first layer: the second layer and the projector at 4
    const reduced = predictCost(RATES, { ...WORK, visionRows: [16, 4] });
    expect(reduced.visionMs).toBeCloseTo(0.5 + (0.2 + 0.32 + 0.0512) + (0.2 + 0.08 + 0.0032) + 0.1 + 0.02, 9);
    // two decode steps reading 64 + 2 and 64 + 4 KV rows
    expect(p.decodeMs).toBeCloseTo(2 * 0.1 + 0.001 * (66 + 68), 9);
    expect(p.totalMs).toBeCloseTo(p.imageMs + p.ttftMs + p.decodeMs, 9);
    expect(decodeKvRows([36, 28])).toBe(66);
  });

  it("costs less with fewer visual tokens and more with more tokens to generate", () => {
    const fewer = predictCost(RATES, { ...WORK, visualPerLayer: [16, 2] });
    const longer = predictCost(RATES, { ...WORK, tokens: 10 });
    expect(fewer.totalMs).toBeLessThan(predictCost(RATES, WORK).totalMs);
    expect(longer.totalMs).toBeGreaterThan(predictCost(RATES, WORK).totalMs);
    expect(predictCost(RATES, { ...WORK, imageFormat: "raw" }).imageMs).toBe(0);
  });
});

describe("fitRates", () => {
  it("recovers non-negative least-squares coefficients exactly on noiseless data", () => {
    const X = [...Array(12).keys()].map((i) => [1, i, i * i]);
    const y = X.map(([a, b, c]) => 2 * a + 0.5 * b + 0.01 * c);
    const b = fitNonNegative(X, y);
    expect(b[0]).toBeCloseTo(2, 9);
    expect(b[1]).toBeCloseTo(0.5, 9);
    expect(b[2]).toBeCloseTo(0.01, 9);
    // a term the data pulls negative is dropped, not fitted below zero
    const z = X.map(([, b1]) => 3 - 0.1 * b1);
    expect(fitNonNegative(X, z).every((v) => v >= 0)).toBe(true);
  });

  it("recovers the rates that generated the samples", () => {
    const samples: CostSample[] = [];
    for (let i = 0; i < 30; i++) {
      const px = [96 * 96, 256 * 256, 1024 * 1024][i % 3];
      const bytes = [20e3, 300e3, 1.5e6, 90e3, 700e3][i % 5]; // files of one size differ in entropy
      const fmt = i % 2 ? "png" : "jpeg";
      const dec = RATES.decode[fmt]!;
      const rows = [40 + i, 20 + (i % 7), 10 + (i % 5)];
      const kv0 = rows.reduce((a, b) => a + b, 0);
      samples.push({
        imageFormat: fmt,
        imagePixels: px,
        imageBytes: bytes,
        decodeImageMs: dec.fixedMs + (dec.perMpxMs * px) / 1e6 + (dec.perMBMs * bytes) / 1e6,
        preprocessMs: RATES.preprocess.fixedMs + (RATES.preprocess.perMpxMs * px) / 1e6,
        visionRows: [16, i % 2 ? 16 : 4 + (i % 9)],
        visionLayersMs: [],
        visionMs: 0,
        projectorMs: 0,
        layerRows: rows,
        layerMs: rows.map(
          (r) => RATES.layer.fixedMs + RATES.layer.perRowMs * r + RATES.layer.perRowSqMs * r * r,
        ),
        headMs: 0.02,
        steps: [1, 2, 3].map((s) => ({ kvRows: kv0 + 3 * s, ms: 0.1 + 0.001 * (kv0 + 3 * s) })),
      });
    }
    for (const s of samples) {
      s.visionLayersMs = s.visionRows.map(
        (n) =>
          RATES.vision.layer.fixedMs +
          RATES.vision.layer.perRowMs * n +
          RATES.vision.layer.perRowSqMs * n * n,
      );
      s.visionMs = RATES.vision.fixedMs + s.visionLayersMs.reduce((a, b) => a + b, 0);
      s.projectorMs = RATES.vision.projector.fixedMs + RATES.vision.projector.perRowMs * s.visionRows[1];
    }
    const r = fitRates(samples);
    const flat = (x: CostRates) => [
      x.decode.png!.fixedMs,
      x.decode.png!.perMpxMs,
      x.decode.png!.perMBMs,
      x.decode.jpeg!.fixedMs,
      x.decode.jpeg!.perMpxMs,
      x.decode.jpeg!.perMBMs,
      x.preprocess.fixedMs,
      x.preprocess.perMpxMs,
      x.vision.fixedMs,
      x.vision.layers,
      x.vision.layer.fixedMs,
      x.vision.layer.perRowMs,
      x.vision.layer.perRowSqMs,
      x.vision.projector.fixedMs,
      x.vision.projector.perRowMs,
      x.layer.fixedMs,
      x.layer.perRowMs,
      x.layer.perRowSqMs,
      x.headMs,
      x.decode_step.fixedMs,
      x.decode_step.perKvRowMs,
    ];
    flat(r).forEach((v, i) => expect(v).toBeCloseTo(flat(RATES)[i], 6));
  });
});

describe("platformKey", () => {
  it("names the runtime, the kernel build and the host class of its int8 dot", () => {
    // this file runs in Node and in workerd (vitest.config.ts): the runtime part says which
    const runtime =
      typeof navigator !== "undefined" && navigator.userAgent === "Cloudflare-Workers" ? "workerd" : "node";
    expect(platformKey({ build: "relaxed", int8Dot: "fused" })).toBe(`${runtime}/relaxed/fused`);
    expect(platformKey({ build: "relaxed", int8Dot: "emulated" })).toBe(`${runtime}/relaxed/emulated`);
    expect(platformKey({ build: "simd", int8Dot: "none" })).toBe(`${runtime}/simd`);
    expect(platformKey({ build: null, int8Dot: null })).toBe(`${runtime}/unknown`);
  });
});

describe("platformRow", () => {
  const row = (key: string) => ({ key, host: "h", measuredAt: "", safety: 1, rates: RATES, methods: {} });
  const table: CostTable = {
    format: "atp-edge-cost/2",
    modelId: "m",
    platforms: [row("node/simd"), row("workerd/relaxed/fused"), row("workerd/relaxed/emulated")],
  };
  it("takes the exact row, else another host class of the build, else the same build, else the first", () => {
    expect(platformRow(table, "workerd/relaxed/emulated")!.key).toBe("workerd/relaxed/emulated");
    expect(platformRow(table, "workerd/relaxed/fused")!.key).toBe("workerd/relaxed/fused");
    const fusedOnly = { ...table, platforms: [row("node/simd"), row("workerd/relaxed/fused")] };
    expect(platformRow(fusedOnly, "workerd/relaxed/emulated")!.key).toBe("workerd/relaxed/fused");
    expect(platformRow(table, "node/relaxed/fused")!.key).toBe("workerd/relaxed/fused");
    expect(platformRow({ ...table, platforms: [row("node/simd")] }, "workerd/relaxed")!.key).toBe(
      "node/simd",
    );
    expect(platformRow({ ...table, platforms: [] }, "workerd/relaxed")).toBeNull();
  });
});

describe("withPointsOf", () => {
  const pt = (keep: number, knobs: Record<string, number>, pruneMs: number, vision = false): BudgetPoint => ({
    keep,
    countBy: "mean",
    knobs,
    visualPerLayer: [144 * keep, 144 * keep],
    p95Ratio: 1 + keep,
    pruneMs,
    ...(vision ? { vision: { layer: 1, tokens: 96, merge: 0 }, visionRows: [144, 96] } : {}),
  });
  const old = {
    key: "workerd/relaxed/fused",
    host: "vnni",
    measuredAt: "then",
    safety: 1.1,
    rates: RATES,
    methods: {
      atp: [
        pt(0.5, { budget: 0.3 }, 0.2),
        pt(0.5, { budget: 0.3 }, 0.25, true),
        pt(0.25, { budget: 0 }, 0.1),
      ],
    },
  };
  it("takes the new weights' knobs and counts, keeps the row's rates and its own pruning times", () => {
    const fresh = {
      atp: [
        pt(0.5, { budget: 0.2 }, 0.9),
        pt(0.5, { budget: 0.2 }, 0.95, true),
        pt(0.11, { budget: -0.4 }, 0.7),
      ],
      grid: [pt(0.25, { tokens: 36 }, 0.05)],
    };
    const r = withPointsOf(old, fresh, "now");
    expect([r.key, r.host, r.measuredAt, r.pointsAt, r.safety, r.rates]).toEqual([
      old.key,
      "vnni",
      "then",
      "now",
      1.1,
      RATES,
    ]);
    expect(r.methods.atp.map((p) => p.knobs)).toEqual(fresh.atp.map((p) => p.knobs));
    expect(r.methods.atp.map((p) => p.visualPerLayer)).toEqual(fresh.atp.map((p) => p.visualPerLayer));
    // the same fraction with and without the vision reduction are two points: each keeps its own time
    expect(r.methods.atp.map((p) => p.pruneMs)).toEqual([0.2, 0.25, 0.7]);
    expect(r.methods.grid[0].pruneMs).toBe(0.05); // a method the row lacked: this host's figure
    expect(old.methods.atp[0].knobs).toEqual({ budget: 0.3 }); // the row itself untouched
  });
});
