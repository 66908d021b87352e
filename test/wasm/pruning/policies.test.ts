// Every pruning policy on the tiny random model (test/wasm/helpers/tiny.ts, here with two ATP modules
// after layers 0 and 1): text rows are never dropped, at least one visual token survives, kept tokens keep
// their original positions, each layer's rows (= its KV length) agree with the kept sets, the answer
// equals the float64 reference run given the same kept sets (so the later layers' shorter KV caches are
// right), and every policy honours its knob.
import { describe, expect, it } from "vitest";
import { loadModel, MemorySource, type LayerView, type PruningPolicy } from "../../../wasm/index";
import {
  createPolicy,
  KnobError,
  methodSpec,
  METHODS,
  type MethodName,
  type PolicyKnobs,
} from "../../../wasm/pruning/registry";
import { AtpPolicy } from "../../../wasm/pruning/atp";
import { pdropCounts } from "../../../wasm/pruning/pdrop";
import { uniformGrid } from "../../../wasm/pruning/select";
import { BUILDS } from "../../helpers/kernels";
import { Reference } from "../reference";
import { randomImage, TINY_ATP_CONFIG as ATP_CONFIG, tinyModelFiles } from "../helpers/tiny";

/** f32 engine vs f64 reference on logits, as test/wasm/engine.test.ts F32_BUDGET (same model size). */
const F32_BUDGET = 1e-4;

const FILES = tinyModelFiles("q8", 1, ATP_CONFIG);
const REF = new Reference(FILES);
const IMAGE = randomImage(16, 16);
const QUESTION = "what color is the square ?";

/** Wraps a policy and records every view and every kept set. */
class Recorder implements PruningPolicy {
  readonly name: string;
  views: LayerView[] = [];
  kept = new Map<number, number[]>();
  readonly beforeFirstLayer?: PruningPolicy["beforeFirstLayer"];
  readonly probeFirstLayer?: PruningPolicy["probeFirstLayer"];
  readonly afterVision?: PruningPolicy["afterVision"];
  get merge() {
    return this.inner.merge; // read after begin, as the engine does
  }
  constructor(readonly inner: PruningPolicy) {
    this.name = inner.name;
    this.afterVision = inner.afterVision?.bind(inner);
    this.probeFirstLayer = inner.probeFirstLayer?.bind(inner);
    const input = inner.beforeFirstLayer?.bind(inner);
    if (input)
      this.beforeFirstLayer = (v, a) => {
        const k = input(v, a);
        if (k) this.kept.set(-1, [...k]);
        return k;
      };
  }
  begin(ctx: Parameters<NonNullable<PruningPolicy["begin"]>>[0]) {
    this.inner.begin?.(ctx);
  }
  captureRows(v: LayerView) {
    this.views.push({ ...v, positions: v.positions.slice() });
    return this.inner.captureRows(v);
  }
  afterLayer(v: LayerView, a: Parameters<PruningPolicy["afterLayer"]>[1]) {
    const k = this.inner.afterLayer(v, a);
    if (k) this.kept.set(v.layer, [...k]);
    return k;
  }
}

const KNOBS: Record<MethodName, PolicyKnobs> = {
  none: {},
  atp: { budget: 0 },
  fastv: { k: 1, ratio: 0.75 },
  pdrop: { layers: [0, 1], lambda: 0.5 },
  random: { counts: [16, 6, 2], seed: 7 },
  grid: { layer: 0, tokens: 4 },
  divprune: { tokens: 5 },
  cdpruner: { tokens: 5, theta: 0.5 },
  dart: { layer: 1, tokens: 6, pivots: 2, text_pivots: 2 },
  visionzip: { tokens: 6, contextual: 2 },
};

describe("pruning policies on the tiny model", async () => {
  const model = await loadModel(new MemorySource(FILES), { kernels: BUILDS[0].module, precision: "f32" });
  const ids = model.tokenizer.promptIds(QUESTION);
  const visual = REF.image(REF.pixels(IMAGE.data)).projector_out;
  const nText = ids.length - 17; // <bos> + 16 visual tokens before the question

  const variants: { method: MethodName; merge: boolean; extra?: PolicyKnobs }[] = [
    ...METHODS.map((method) => ({ method, merge: false })),
    ...METHODS.filter((m) => m !== "none").map((method) => ({ method, merge: true })),
    // ATP's first module deciding before layer 0
    { method: "atp", merge: false, extra: { input: 1 } },
    { method: "atp", merge: true, extra: { input: 1 } },
  ];
  for (const { method, merge, extra } of variants) {
    it(`${method}${extra ? ` ${JSON.stringify(extra)}` : ""}${merge ? " with merge" : ""}: keeps text rows and positions, rows agree with kept sets, decodes like the reference`, async () => {
      const knobs = { ...KNOBS[method], ...extra, ...(merge ? { merge: 1 } : {}) };
      const rec = new Recorder(createPolicy(method, knobs));
      let logits: Float32Array | null = null;
      let projected: Float32Array | null = null; // the visual tokens as the engine fed them to the LLM
      const done = await model.run(IMAGE, QUESTION, {
        maxTokens: 4,
        policy: rec,
        trace: (n, d) => {
          if (n === "logits") logits = d;
          if (n === "projector_out") projected = d.slice();
        },
      });
      let alive = rec.kept.get(-1) ?? Array.from({ length: 16 }, (_, g) => g);
      rec.views.forEach((v, l) => {
        expect(v.textRows.length).toBe(nText); // text tokens are never dropped
        expect(v.visualRows.length).toBeGreaterThanOrEqual(1); // a visual token always survives
        expect([...v.visualIndex]).toEqual(alive);
        expect(v.rows).toBe(1 + alive.length + nText); // this layer's KV length
        v.visualRows.forEach((r, j) => expect(v.positions[r]).toBe(v.visualIndex[j] + 1)); // positions kept
        expect([...v.textRows].map((r) => v.positions[r])).toEqual(
          Array.from({ length: nText }, (_, i) => 17 + i),
        );
        const k = rec.kept.get(l);
        if (k) {
          expect(k.length).toBeGreaterThanOrEqual(1);
          expect(k.every((g) => alive.includes(g))).toBe(true);
          alive = k;
        }
      });
      expect(done.stats.visualTokens.perLayer).toEqual(rec.views.map((v) => v.visualRows.length));
      expect(done.stats.visualTokens.inputFraction).toBe(rec.views[0].visualRows.length / 16);
      const kvRows = rec.views.reduce((a, v) => a + v.rows, 0);
      expect(done.stats.kvFraction).toBeCloseTo(kvRows / (rec.views.length * ids.length), 12);
      // a method that merges at the vision output (visionzip) changes the visual tokens: the reference
      // decodes from the engine's (checked against the reference's own merge in the visionzip test)
      const tokens = rec.inner.afterVision ? Float64Array.from(projected!) : visual;
      const ref = REF.run(ids, tokens, { keepAfter: rec.kept, merge, maxTokens: 4, stop: 2 });
      expect(ref.visualPerLayer).toEqual(done.stats.visualTokens.perLayer);
      const V = model.config.text.vocabSize;
      const err = logits!
        .subarray(logits!.length - V)
        .reduce((m, x, i) => Math.max(m, Math.abs(x - ref.logitsLast[i])), 0);
      expect(err).toBeLessThan(F32_BUDGET);
      expect(done.ids).toEqual(ref.tokens);
      if (merge) {
        // merging changed what the model computed (the same kept sets without it give other logits)
        const dropped = REF.run(ids, tokens, { keepAfter: rec.kept }).logitsLast;
        const diff = logits!
          .subarray(logits!.length - V)
          .reduce((m, x, i) => Math.max(m, Math.abs(x - dropped[i])), 0);
        expect(diff).toBeGreaterThan(10 * F32_BUDGET);
      }
      if (method !== "none") expect(done.stats.visualTokens.meanFraction).toBeLessThan(1);
    });
  }

  const perLayer = async (method: MethodName, knobs: PolicyKnobs) =>
    (await model.run(IMAGE, QUESTION, { maxTokens: 1, policy: createPolicy(method, knobs) })).stats
      .visualTokens.perLayer;

  it("fastv keeps round(N (1 - ratio)) from layer k on", async () => {
    expect(await perLayer("fastv", { k: 1, ratio: 0.75 })).toEqual([16, 4, 4]);
    expect(await perLayer("fastv", { k: 2, ratio: 0.5 })).toEqual([16, 16, 8]);
  });

  it("pdrop shrinks by lambda at each stage end", async () => {
    expect(await perLayer("pdrop", { layers: [0, 1], lambda: 0.5 })).toEqual(pdropCounts(3, 16, [0, 1], 0.5));
    expect(await perLayer("pdrop", { layers: [0, 1], lambda: 0.25 })).toEqual([16, 4, 1]);
  });

  it("grid keeps its uniform sub-grid; random keeps the given counts", async () => {
    expect(await perLayer("grid", { layer: 0, tokens: 4 })).toEqual([16, 4, 4]);
    expect(await perLayer("grid", { layer: 1, tokens: 9 })).toEqual([16, 16, 9]);
    expect(await perLayer("grid", { layer: -1, tokens: 4 })).toEqual([4, 4, 4]); // entering the LLM
    expect(await perLayer("random", { counts: [16, 5, 3] })).toEqual([16, 5, 3]);
    expect(await perLayer("random", { counts: [6, 6, 2] })).toEqual([6, 6, 2]); // from the input on
  });

  it("atp: the budget knob is monotone in tokens kept and spans all-to-one", async () => {
    const budgets = [-30, -4, -2, -1, 0, 1, 2, 4, 30];
    const sums = [];
    for (const budget of budgets) sums.push((await perLayer("atp", { budget })).reduce((a, b) => a + b, 0));
    for (let i = 1; i < sums.length; i++) expect(sums[i]).toBeGreaterThanOrEqual(sums[i - 1]);
    expect(sums[0]).toBe(16 + 1 + 1); // every token below both thresholds: one survives per module
    expect(sums[sums.length - 1]).toBe(48);
    const atp = new AtpPolicy({ budget: 0 });
    await model.run(IMAGE, QUESTION, { maxTokens: 1, policy: atp });
    expect(atp.decisions.map((d) => d.layer)).toEqual([0, 1]);
  });

  it("atp input 1: module 0 keeps what it keeps after layer 0, from layer 0 on; the later modules still prune", async () => {
    const after = new Recorder(new AtpPolicy({ budget: 0 }));
    await model.run(IMAGE, QUESTION, { maxTokens: 1, policy: after });
    const before = new Recorder(new AtpPolicy({ budget: 0, input: 1 }));
    const done = await model.run(IMAGE, QUESTION, { maxTokens: 1, policy: before });
    // the same attention (layer 0's on its input) and MLP: the same decision, applied one layer earlier
    expect(after.kept.get(0)!.length).toBeLessThan(16);
    expect(before.kept.get(-1)).toEqual(after.kept.get(0));
    expect(before.kept.has(0)).toBe(false);
    expect(done.stats.visualTokens.perLayer[0]).toBe(after.kept.get(0)!.length);
    expect(done.stats.visualTokens.inputFraction).toBeLessThan(1);
    expect((before.inner as AtpPolicy).decisions.map((d) => d.layer)).toEqual([0, 1]);
  });

  it("atp with question_state: the thresholds follow the question on one image; the MLP width is checked", async () => {
    const hidden = (ATP_CONFIG.text_config as { hidden_size: number }).hidden_size;
    const withQ = (features: number) => ({
      ...ATP_CONFIG,
      atp: { ...ATP_CONFIG.atp, question_state: true, num_features: features },
    });
    const m = await loadModel(new MemorySource(tinyModelFiles("q8", 1, withQ(9 + hidden))), {
      kernels: BUILDS[0].module,
    });
    const thresholds = async (question: string, config = m) => {
      const atp = new AtpPolicy({ budget: 0 });
      await config.run(IMAGE, question, { maxTokens: 1, policy: atp });
      return atp.decisions.map((d) => d.tR);
    };
    const a = await thresholds(QUESTION);
    expect(await thresholds(QUESTION)).toEqual(a); // deterministic
    const b = await thresholds("is the circle red ?");
    expect(Math.abs(a[0] - b[0])).toBeGreaterThan(1e-3);
    const narrow = await loadModel(new MemorySource(tinyModelFiles("q8", 1, withQ(9))), {
      kernels: BUILDS[0].module,
    });
    await expect(thresholds(QUESTION, narrow)).rejects.toThrow(/9 features, the engine computes 41/);
  });

  it("atp input 1 is refused where the first module does not follow layer 0", async () => {
    const config = { ...ATP_CONFIG, atp: { ...ATP_CONFIG.atp, layers: [1] } };
    const late = await loadModel(new MemorySource(tinyModelFiles("q8", 1, config)), {
      kernels: BUILDS[0].module,
    });
    await expect(late.run(IMAGE, QUESTION, { policy: createPolicy("atp", { input: 1 }) })).rejects.toThrow(
      /input needs a first module after layer 0/,
    );
  });

  it("atp refuses a model without ATP modules", async () => {
    const plain = await loadModel(new MemorySource(tinyModelFiles("q8")), { kernels: BUILDS[0].module });
    await expect(plain.run(IMAGE, QUESTION, { policy: createPolicy("atp") })).rejects.toThrow(
      /no ATP modules/,
    );
  });

  it("atp merges by default when the model's atp.merge says so; the merge knob overrides it", async () => {
    const config = { ...ATP_CONFIG, atp: { ...ATP_CONFIG.atp, merge: true } };
    const merging = await loadModel(new MemorySource(tinyModelFiles("q8", 1, config)), {
      kernels: BUILDS[0].module,
    });
    const dropping = await loadModel(new MemorySource(tinyModelFiles("q8", 1, ATP_CONFIG)), {
      kernels: BUILDS[0].module,
    });
    const logitsOf = async (m: typeof merging, knobs: object) => {
      const policy = createPolicy("atp", knobs);
      let last: Float32Array | null = null;
      await m.run(IMAGE, QUESTION, {
        maxTokens: 1,
        policy,
        trace: (n, d) => n === "logits" && (last = d.slice()),
      });
      return { merge: policy.merge, logits: Array.from(last!) };
    };
    const byDefault = await logitsOf(merging, {});
    const explicit = await logitsOf(dropping, { merge: 1 });
    const off = await logitsOf(merging, { merge: 0 });
    const plain = await logitsOf(dropping, {});
    expect([byDefault.merge, explicit.merge, off.merge, plain.merge]).toEqual([true, true, false, false]);
    expect(byDefault.logits).toEqual(explicit.logits); // same weights, both merging
    expect(off.logits).toEqual(plain.logits);
    expect(byDefault.logits).not.toEqual(off.logits);
  });

  it("--keep knobs land near the target fraction", () => {
    const ctx = { layers: 8, numVisual: 144 };
    const schedule = (method: MethodName, keep: number): PolicyKnobs => {
      const rule = methodSpec(method).keep;
      if (rule?.by !== "schedule") throw new Error(`${method} has no schedule rule`);
      return rule.knobs(keep, ctx, {});
    };
    for (const keep of [0.2, 0.25, 0.4]) {
      const f = schedule("fastv", keep);
      const fv = (f.k! + ((8 - f.k!) * Math.round(144 * (1 - f.ratio!))) / 144) / 8;
      expect(Math.abs(fv - keep)).toBeLessThan(0.01);
      const p = schedule("pdrop", keep);
      const pc = pdropCounts(8, 144, p.layers!, p.lambda!);
      expect(Math.abs(pc.reduce((a, b) => a + b, 0) / 8 / 144 - keep)).toBeLessThan(0.01);
      const g = schedule("grid", keep);
      expect(g.tokens).toBeGreaterThan(0);
      // entering the LLM, the grid is in every layer: `keep` of the 12 x 12 tokens (6 x 6 at 25%)
      const rule = methodSpec("grid").keep;
      if (rule?.by !== "schedule") throw new Error("grid has no schedule rule");
      const gi = rule.knobs(keep, ctx, { layer: -1 });
      expect(gi.layer).toBe(-1);
      expect(Math.abs(uniformGrid(12, gi.tokens!).length / 144 - keep)).toBeLessThan(0.03);
    }
    expect(methodSpec("none").keep).toBeNull();
    expect(methodSpec("atp").keep).toMatchObject({ by: "measure", knob: "budget" });
  });

  it("validates knobs against each method's table, naming the knob", () => {
    const refused: [MethodName, object, string, RegExp][] = [
      ["fastv", { ratio: 1 }, "ratio", /fastv: knob 'ratio' must be a number in \[0, 1\), got 1/],
      ["fastv", { k: 1.5 }, "k", /knob 'k' must be an integer >= 1/],
      ["fastv", { budget: 0 }, "budget", /fastv has no knob 'budget' \(its knobs: k, ratio, merge\)/],
      ["pdrop", { layers: [2, 1] }, "layers", /strictly increasing/],
      ["pdrop", { lambda: 0 }, "lambda", /in \(0, 1\]/],
      ["random", { counts: [-1] }, "counts", /must be a list of integers >= 0, got -1/],
      ["grid", { tokens: [1, 2] }, "tokens", /must be a number >= 1/],
      ["atp", { budget: Infinity }, "budget", /must be a number/],
      ["none", { k: 1 }, "k", /none has no knob 'k' \(its knobs: merge\)/],
    ];
    for (const [method, knobs, knob, message] of refused) {
      let err: unknown;
      try {
        createPolicy(method, knobs);
      } catch (e) {
        err = e;
      }
      expect(err, `${method} ${JSON.stringify(knobs)}`).toBeInstanceOf(KnobError);
      expect((err as KnobError).knob).toBe(knob);
      expect((err as KnobError).message).toMatch(message);
    }
    expect(createPolicy("fastv", { k: 3, ratio: undefined }).name).toBe("fastv");
  });
});
