// wasm/pruning/vision.ts and the engine's vision reduction (wasm/model/vision.ts): the ToMe plan on
// hand-made keys, the knobs' checks, and on the tiny random model the engine against the float64
// reference (test/wasm/reference.ts) doing the same reduction -- the projector's rows, the kept patches,
// their sizes, the logits and the answer -- dropping and merging, alone and before an LLM-side method.
import { describe, expect, it } from "vitest";
import { loadModel, MemorySource } from "../../../wasm/index";
import { createPolicy } from "../../../wasm/pruning/registry";
import { visionPlan, visionReduction } from "../../../wasm/pruning/vision";
import { KnobError } from "../../../wasm/pruning/method";
import { parseConfig } from "../../../wasm/config";
import { BUILDS } from "../../helpers/kernels";
import { Reference } from "../reference";
import { randomImage, TINY_CONFIG, tinyModelFiles } from "../helpers/tiny";

/** f32 engine vs f64 reference on logits (test/wasm/pruning/policies.test.ts). */
const F32_BUDGET = 1e-4;

describe("visionPlan", () => {
  it("matches A (even rows) to B (odd rows) by key cosine and merges the most similar pairs first", () => {
    // a 2 x 2 grid: rows 0 and 1 a flat background, 2 and 3 two objects
    const keys = Float32Array.from([1, 0, 1, 0, 0, 1, -1, 0.2]);
    const plan = visionPlan(keys, 4, 2, 3, 2);
    expect([...plan.kept]).toEqual([1, 2, 3]);
    expect([...plan.dropped]).toEqual([0]);
    expect([...plan.into]).toEqual([1]);
  });

  it("matches within the window on the grid, not across it", () => {
    // a 4 x 4 grid of identical keys: every pair is equally similar, so only the window decides
    const keys = new Float32Array(16 * 3).fill(1);
    const plan = visionPlan(keys, 16, 3, 8, 4);
    plan.dropped.forEach((a, i) => {
      const b = plan.into[i];
      expect(Math.abs(Math.floor(a / 4) - Math.floor(b / 4))).toBeLessThanOrEqual(1);
      expect(Math.abs((a % 4) - (b % 4))).toBeLessThanOrEqual(1);
    });
  });

  it("runs rounds until `tokens` remain; every dropped row ends in a kept one, sizes add up", () => {
    const n = 36;
    const d = 5;
    let s = 7;
    const keys = Float32Array.from(
      { length: n * d },
      () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5,
    );
    for (const tokens of [35, 18, 9, 4, 1]) {
      const plan = visionPlan(keys, n, d, tokens, 6);
      expect(plan.kept.length).toBe(tokens);
      expect(new Set([...plan.kept, ...plan.dropped]).size).toBe(n);
      const size = new Array<number>(n).fill(1);
      plan.dropped.forEach((r, i) => {
        // a row merges on only after everything merged into it
        expect(plan.dropped.indexOf(plan.into[i]) === -1 || plan.dropped.indexOf(plan.into[i]) > i).toBe(
          true,
        );
        size[plan.into[i]] += size[r];
        size[r] = 0;
      });
      expect([...plan.kept].reduce((a, r) => a + size[r], 0)).toBe(n);
    }
    expect(() => visionPlan(keys, n, d, 9, 5)).toThrow(/grid/);
  });
});

describe("visionReduction", () => {
  const cfg = parseConfig({ ...TINY_CONFIG, text_config: { ...TINY_CONFIG.text_config } });
  it("takes layer and tokens within the model, merge 0/1", () => {
    expect(visionReduction({ layer: 0, tokens: 8, merge: 1 }, cfg, 2)).toEqual({
      layer: 0,
      tokens: 8,
      merge: 1,
    });
    for (const bad of [
      { tokens: 8 },
      { layer: 0 },
      { layer: 1, tokens: 8 },
      { layer: 0, tokens: 16 },
      { layer: 0, tokens: 8, merge: 2 },
      { layer: 0, tokens: 8, depth: 1 },
    ])
      expect(() => visionReduction(bad, cfg, 2)).toThrow(KnobError);
  });
});

describe("vision reduction on the tiny model", async () => {
  const files = tinyModelFiles("q8");
  const ref = new Reference(files);
  const model = await loadModel(new MemorySource(files), { kernels: BUILDS[0].module, precision: "f32" });
  const image = randomImage(16, 16);
  const question = "what color is the square ?";
  const ids = model.tokenizer.promptIds(question);
  const V = model.config.text.vocabSize;

  const cases = [
    { tokens: 9, merge: false, method: "none" as const },
    { tokens: 9, merge: true, method: "none" as const },
    { tokens: 3, merge: true, method: "none" as const }, // two rounds of matching
    { tokens: 9, merge: true, method: "grid" as const },
  ];
  for (const c of cases) {
    it(`${c.merge ? "merges" : "drops"} to ${c.tokens} patches after layer 0, then ${c.method}, as the reference does`, async () => {
      let logits: Float32Array | null = null;
      let projected: Float32Array | null = null;
      const knobs = c.method === "grid" ? { layer: 0, tokens: 4 } : {};
      const done = await model.run(image, question, {
        maxTokens: 4,
        policy: createPolicy(c.method, knobs),
        vision: { layer: 0, tokens: c.tokens, merge: c.merge ? 1 : 0 },
        trace: (n, d) => {
          if (n === "logits") logits = d.slice();
          if (n === "projector_out") projected = d.slice();
        },
      });
      const r = ref.image(ref.pixels(image.data), { layer: 0, tokens: c.tokens, merge: c.merge });
      expect(done.stats.visualTokens.indexPerLayer[0]).toEqual(r.grid);
      expect(done.stats.visionRows).toEqual({ perLayer: [16, c.tokens], out: c.tokens });
      if (c.merge) expect(r.sizes!.some((z) => z > 1)).toBe(true);
      expect(r.sizes!.reduce((a, b) => a + b, 0)).toBe(c.merge ? 16 : c.tokens);
      // the projector's rows, compact, against the reference's at their grid places
      const Dt = model.config.text.hidden;
      const rows = r.grid!.flatMap((g) => [...r.projector_out.subarray(g * Dt, (g + 1) * Dt)]);
      const perr = projected!.reduce((m, x, i) => Math.max(m, Math.abs(x - rows[i])), 0);
      expect(perr).toBeLessThan(1e-4);
      const keepAfter = new Map<number, number[]>([[-1, r.grid!]]);
      if (c.method === "grid") keepAfter.set(0, done.stats.visualTokens.indexPerLayer[1]);
      const inputSizes = new Map(r.grid!.map((g, j) => [g, r.sizes![j]]));
      const out = ref.run(ids, r.projector_out, { keepAfter, inputSizes, maxTokens: 4, stop: 2 });
      expect(out.visualPerLayer).toEqual(done.stats.visualTokens.perLayer);
      const err = logits!
        .subarray(logits!.length - V)
        .reduce((m, x, i) => Math.max(m, Math.abs(x - out.logitsLast[i])), 0);
      expect(err).toBeLessThan(F32_BUDGET);
      expect(done.ids).toEqual(out.tokens);
    });
  }

  it("refuses a method that reads the whole vision output (visionzip) after a reduction", async () => {
    await expect(
      model.run(image, question, {
        policy: createPolicy("visionzip", { tokens: 4 }),
        vision: { layer: 0, tokens: 9 },
      }),
    ).rejects.toThrow(/vision reduction/);
  });
});
