// atp.cpu_budget_ms (worker/serve/budget.ts): the pruning chosen from the model's cost table so that the
// predicted cost fits, reported in the response; 400s for a budget nothing fits, for a budget beside the
// knobs it sets, and for a model without a cost table. The table here has hand-made rates (one ms per
// prompt row per LLM layer, nothing else), so every choice can be worked out from the prompt length.
import { beforeAll, describe, expect, it } from "vitest";
import { withCostTable } from "../../tools/convert/convert";
import { budgetFor, type BudgetInput } from "../../worker/serve/budget";
import { cpuBudgetVar } from "../../worker/serve/request";
import { loadModel, MemorySource, type CostTable } from "../../wasm/index";
import relaxedModule from "../../wasm/build/kernels.relaxed.wasm";
import { modelStore } from "../../worker/store";
import { call, chatBody, forgetVisionOutputs, IMAGES, seedWeights, WEIGHT_FILES } from "./helpers/api";

const point = (tokens: number) => ({
  keep: (16 + 2 * tokens) / 48,
  countBy: "mean" as const,
  knobs: { layer: 0, tokens },
  visualPerLayer: [16, tokens, tokens],
  p95Ratio: 1,
  pruneMs: 0,
});
const TABLE: CostTable = {
  format: "atp-edge-cost/2",
  modelId: "tiny",
  platforms: [
    {
      key: "workerd/relaxed",
      host: "hand-made",
      measuredAt: "2026-12-02",
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
      methods: { grid: [point(9), point(4)], none: [{ ...point(16), keep: 1, knobs: {} }] },
    },
  ],
};
// a row for another platform first: the Worker must find its own (workerd, relaxed kernels)
TABLE.platforms.unshift({ ...TABLE.platforms[0], key: "node/simd", host: "elsewhere" });
const WITH_COST = withCostTable(WEIGHT_FILES, new TextEncoder().encode(JSON.stringify(TABLE)));

interface Answer {
  usage: { prompt_tokens: number };
  atp: {
    visual_tokens: { per_layer: number[] };
    knobs: unknown;
    vision: unknown;
    vision_rows: unknown;
    vision_cached: boolean;
    cpu_budget: {
      budget_ms: number;
      keep: number;
      fits: boolean;
      vision_cached: boolean;
      predicted_ms: { total: number };
      pace: number;
      source: string;
      platform: string;
    } | null;
  };
  error?: { code: string; message: string; param: string };
}

const ask = async (atp: object) => {
  const res = await call(
    "/v1/chat/completions",
    chatBody(IMAGES["shapes.png"], undefined, { max_tokens: 2, atp }),
  );
  return { status: res.status, body: (await res.json()) as Answer };
};

describe("atp.cpu_budget_ms", () => {
  let text = 0; // text rows of the prompt: a point with v visual rows after layer 0 costs 3 text + 16 + 2v
  beforeAll(async () => {
    await seedWeights(WITH_COST);
    const r = await ask({ method: "grid", knobs: { tokens: 9 } });
    text = r.body.usage.prompt_tokens - 16;
  });

  it("takes the point with the most tokens that fits and reports it", async () => {
    const roomy = await ask({ method: "grid", cpu_budget_ms: 3 * text + 34 });
    expect(roomy.status).toBe(200);
    expect(roomy.body.atp.visual_tokens.per_layer).toEqual([16, 9, 9]);
    expect(roomy.body.atp.knobs).toEqual({ layer: 0, tokens: 9 });
    expect(roomy.body.atp.cpu_budget).toMatchObject({
      budget_ms: 3 * text + 34,
      source: "request",
      fits: true,
    });
    expect(roomy.body.atp.cpu_budget!.predicted_ms.total).toBeCloseTo(3 * text + 34, 9);
    expect(roomy.body.atp.cpu_budget!.platform).toBe("workerd/relaxed (hand-made)");
    // the tiny model runs ~50x faster than this table says: no host's pace, so none is taken
    expect(roomy.body.atp.cpu_budget!.pace).toBe(1);
    const tight = await ask({ method: "grid", cpu_budget_ms: 3 * text + 33.5 });
    expect(tight.body.atp.visual_tokens.per_layer).toEqual([16, 4, 4]);
    expect(tight.body.atp.cpu_budget!.keep).toBeCloseTo(24 / 48, 9);
  });

  it("refuses a budget nothing fits, naming the least this request needs", async () => {
    const r = await ask({ method: "grid", cpu_budget_ms: 3 * text + 23 });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: "cpu_budget_too_small", param: "atp.cpu_budget_ms" });
    expect(r.body.error!.message).toContain(`the ${3 * text + 24} ms this request needs at least`);
    const unpruned = await ask({ method: "none", cpu_budget_ms: 3 * text + 47 });
    expect(unpruned.status).toBe(400);
    expect((await ask({ method: "none", cpu_budget_ms: 3 * text + 48 })).status).toBe(200);
  });

  it("refuses a budget beside the knobs it would set, and bad values", async () => {
    const r = await ask({ method: "grid", cpu_budget_ms: 100, knobs: { tokens: 4 } });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: "invalid_atp_options", param: "atp.knobs" });
    for (const v of [0, -5, "10", 1e9]) expect((await ask({ cpu_budget_ms: v })).status).toBe(400);
  });

  it("plans at the isolate's pace: a host running 1.5x slower than its table buys fewer tokens", async () => {
    const model = modelStore.loaded!;
    for (let i = 0; i < 9; i++) model.pace.observe(15, 10);
    try {
      // [16, 9, 9] fits 3 text + 34 at the table's speed; 1.5x slower it needs 1.5x that
      const slow = await ask({ method: "grid", cpu_budget_ms: 3 * text + 34 });
      expect(slow.status).toBe(400);
      expect(slow.body.error!.message).toContain(
        `the ${Math.ceil(1.5 * (3 * text + 24))} ms this request needs`,
      );
      const paced = await ask({ method: "grid", cpu_budget_ms: 1.5 * (3 * text + 34) });
      expect(paced.body.atp.visual_tokens.per_layer).toEqual([16, 9, 9]);
      expect(paced.body.atp.cpu_budget!.pace).toBeCloseTo(1.5, 12);
      expect(paced.body.atp.cpu_budget!.predicted_ms.total).toBeCloseTo(1.5 * (3 * text + 34), 9);
      const health = (await (await call("/health")).json()) as { pace: { factor: number; samples: number } };
      expect(health.pace.factor).toBeCloseTo(1.5, 12);
      expect(health.pace.samples).toBeGreaterThanOrEqual(9);
    } finally {
      await seedWeights(WITH_COST); // a fresh model, at the table's pace
    }
  });

  it("refuses a CPU budget on a model without a cost table", async () => {
    await seedWeights(WEIGHT_FILES);
    const r = await ask({ method: "grid", cpu_budget_ms: 100 });
    expect(r.status).toBe(400);
    expect(r.body.error!.code).toBe("cpu_budget_unavailable");
    await seedWeights(WITH_COST);
  });
});

describe("the deployment's default budget (CPU_BUDGET_MS)", () => {
  it("parses only positive numbers", () => {
    expect(cpuBudgetVar("25")).toBe(25);
    for (const v of [undefined, "", "0", "-3", "soon"]) expect(cpuBudgetVar(v)).toBeNull();
  });

  it("applies to requests without their own budget, best effort, and gives way to the queue's deadline", async () => {
    const model = await loadModel(new MemorySource(WITH_COST), { kernels: relaxedModule });
    const base: BudgetInput = {
      method: "grid",
      atp: {},
      defaultMs: 1000,
      imageFormat: "png",
      imagePixels: 96 * 96,
      inputPixels: 96 * 96,
      imageBytes: 7000,
      promptTokens: 26,
      maxTokens: 2,
      leftMs: 60_000,
      visionCached: () => false,
      imageDecoded: true,
    };
    // 10 text rows: points cost 30 + 16 + 18 = 64 and 30 + 16 + 8 = 54
    expect(budgetFor(model, base)!.report).toMatchObject({ source: "default", fits: true, keep: 34 / 48 });
    expect(budgetFor(model, { ...base, atp: { knobs: { tokens: 4 } } })).toBeNull();
    expect(budgetFor(model, { ...base, defaultMs: null })).toBeNull();
    // nothing fits a default: the cheapest point, reported as not fitting
    expect(budgetFor(model, { ...base, defaultMs: 10 })!.report).toMatchObject({
      fits: false,
      keep: 24 / 48,
    });
    // 60 ms asked, but only 55 left before the deadline once the queue ahead is through
    const r = budgetFor(model, { ...base, atp: { cpu_budget_ms: 60 }, leftMs: 55 })!.report;
    expect(r).toMatchObject({ budget_ms: 60, effective_ms: 55, keep: 24 / 48 });
    expect(() => budgetFor(model, { ...base, atp: { cpu_budget_ms: 60 }, leftMs: 20 })).toThrow(
      /go to the queue/,
    );
  });
});

describe("a budget point with a vision reduction (its twin, right after it in the table)", () => {
  // rates: one ms per row per LLM layer and per row per vision encoder layer (2 layers, 16 patches)
  const rates = {
    ...TABLE.platforms[1].rates,
    vision: {
      fixedMs: 0,
      layers: 2,
      layer: { fixedMs: 0, perRowMs: 1, perRowSqMs: 0 },
      projector: { fixedMs: 0, perRowMs: 0 },
    },
  };
  const vision = { layer: 0, tokens: 9, merge: 0 };
  const twin = { ...point(9), visualPerLayer: [9, 9, 9], vision, visionRows: [16, 9] };
  const table: CostTable = {
    ...TABLE,
    platforms: [{ ...TABLE.platforms[1], rates, methods: { grid: [point(9), twin, point(4)] } }],
  };
  let text = 0;
  beforeAll(async () => {
    await seedWeights(withCostTable(WEIGHT_FILES, new TextEncoder().encode(JSON.stringify(table))));
    const r = await ask({ method: "grid", knobs: { tokens: 9 } });
    text = r.body.usage.prompt_tokens - 16;
  });

  it("is chosen when the point misses and the twin fits, and the request runs it", async () => {
    // point(9): 3 text + 34 LLM rows + 32 vision = 3t + 66; twin: 3t + 27 + 25 = 3t + 52; point(4): 3t + 56
    // (every plan here is for an image whose vision output the model has not kept: see the next test)
    forgetVisionOutputs();
    const r = await ask({ method: "grid", cpu_budget_ms: 3 * text + 55 });
    expect(r.status).toBe(200);
    const atp = r.body.atp;
    expect(atp.vision).toEqual(vision);
    expect(atp.vision_rows).toEqual({ perLayer: [16, 9], out: 9 });
    // the LLM starts from the 9 patches; grid then keeps those of its 9 places that are among them
    expect(atp.visual_tokens.per_layer[0]).toBe(9);
    expect(Math.max(...atp.visual_tokens.per_layer.slice(1))).toBeLessThanOrEqual(9);
    expect(atp.cpu_budget!.predicted_ms.total).toBeCloseTo(3 * text + 52, 9);
    forgetVisionOutputs();
    const roomy = await ask({ method: "grid", cpu_budget_ms: 3 * text + 66 });
    expect(roomy.body.atp.vision).toBeNull();
    expect(roomy.body.atp.visual_tokens.per_layer).toEqual([16, 9, 9]);
    forgetVisionOutputs();
    expect((await ask({ method: "grid", cpu_budget_ms: 3 * text + 51 })).status).toBe(400);
  });

  it("counts no encoder for an image whose vision output the model kept", async () => {
    forgetVisionOutputs();
    const first = await ask({ method: "grid", cpu_budget_ms: 3 * text + 55 });
    expect(first.body.atp.vision).toEqual(vision); // the twin, as above
    expect(first.body.atp.vision_cached).toBe(false);
    // the same image again: the twin's output is kept, so the twin now costs its LLM rows alone
    const again = await ask({ method: "grid", cpu_budget_ms: 3 * text + 27 });
    expect(again.status).toBe(200);
    expect(again.body.atp.vision).toEqual(vision);
    expect(again.body.atp.vision_cached).toBe(true);
    expect(again.body.atp.cpu_budget).toMatchObject({ vision_cached: true, fits: true });
    expect(again.body.atp.cpu_budget!.predicted_ms.total).toBeCloseTo(3 * text + 27, 9);
    // once the unreduced output is kept too, the point with the most tokens fits what the twin needed
    await ask({ method: "grid", knobs: { tokens: 9 } });
    const roomy = await ask({ method: "grid", cpu_budget_ms: 3 * text + 34 });
    expect(roomy.body.atp.vision).toBeNull();
    expect(roomy.body.atp).toMatchObject({ vision_cached: true, cpu_budget: { vision_cached: true } });
    expect(roomy.body.atp.visual_tokens.per_layer).toEqual([16, 9, 9]);
    // an image not seen before pays for its encoder: the same budget is too small for it
    const other = await call(
      "/v1/chat/completions",
      chatBody(IMAGES["gray.png"], undefined, {
        max_tokens: 2,
        atp: { method: "grid", cpu_budget_ms: 3 * text + 34 },
      }),
    );
    expect(other.status).toBe(400);
  });

  it("is refused beside cpu_budget_ms as atp.vision", async () => {
    const r = await ask({ method: "grid", cpu_budget_ms: 100, vision });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: "invalid_atp_options", param: "atp.vision" });
    await seedWeights(WITH_COST);
  });
});
