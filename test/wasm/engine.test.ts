// The engine against the float64 reference (./reference.ts) on a tiny random model made by the converter:
// every named intermediate and the logits on the f32 path, the logits and greedy answer on the int8 path
// (q8 and q4), pruning through the policy hook (dropped rows, kept positions, captured attention) and
// decoding. Runs on both kernel builds, in Node and in workerd.
import { describe, expect, it } from "vitest";
import {
  loadModel,
  MemorySource,
  type LayerView,
  type PruningPolicy,
  type CapturedAttention,
} from "../../wasm/index";
import { BUILDS } from "../helpers/kernels";
import { Reference } from "./reference";
import { randomImage, tinyModelFiles } from "./helpers/tiny";

/**
 * f32 path vs f64 reference, max abs difference. The engine rounds every op to f32 (~6e-8 relative) and
 * the kernels approximate exp/erf to ~1.5e-7; through 2 + 3 layers of values O(1) that stays ~1e-5.
 * 1e-4 leaves 10x margin; the atp-tiny fixture budget (1e-3 on logits) is the issue's.
 */
const F32_BUDGET = 1e-4;
/**
 * int8 path vs f64 reference on logits, relative to max |logit|: 7-bit activations (step max|x|/63 per
 * row) in every Linear add ~1% noise per layer; measured 1.5-2.5% on this model (q8 and q4), so 5%.
 */
const INT8_LOGIT_BUDGET = 0.05;

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const argmax = (v: ArrayLike<number>) => {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[b]) b = i;
  return b;
};

const FILES = tinyModelFiles("q8");
const REF = new Reference(FILES);
const IMAGE = randomImage(16, 16);
const QUESTION = "what color is the square ?";

/** Keeps a fixed subset after layers 0 and 1 and captures the text rows' attention at layer 1. */
class FixedPolicy implements PruningPolicy {
  readonly name = "fixed";
  views: LayerView[] = [];
  captured: CapturedAttention | null = null;
  constructor(readonly keep: Map<number, number[]>) {}
  captureRows(v: LayerView) {
    return v.layer === 1 ? Int32Array.from([...v.textRows, v.visualRows[0]]) : null;
  }
  afterLayer(v: LayerView, a: CapturedAttention | null) {
    this.views.push(v);
    if (a) this.captured = a;
    const k = this.keep.get(v.layer);
    return k ? Int32Array.from(k) : null;
  }
}

for (const build of BUILDS) {
  describe(`engine on the tiny model (${build.name} kernels)`, () => {
    it("f32 path matches the reference tensor by tensor", async () => {
      const model = await loadModel(new MemorySource(FILES), { kernels: build.module, precision: "f32" });
      const traced = new Map<string, Float32Array>();
      const done = await model.run(IMAGE, QUESTION, { maxTokens: 4, trace: (n, d) => traced.set(n, d) });
      const img = REF.image(REF.pixels(IMAGE.data));
      const ids = model.tokenizer.promptIds(QUESTION);
      const ref = REF.run(ids, img.projector_out, { maxTokens: 4, stop: 2 });
      for (const name of ["vision.patch_embeds", "vision.encoder_out", "projector_out"] as const) {
        expect(maxAbsDiff(traced.get(name)!, img[name]), name).toBeLessThan(F32_BUDGET);
      }
      ref.hidden.forEach((h, l) =>
        expect(maxAbsDiff(traced.get(`llm.hidden.${l}`)!, h)).toBeLessThan(F32_BUDGET),
      );
      const V = model.config.text.vocabSize;
      const logits = traced.get("logits")!;
      expect(maxAbsDiff(logits.subarray(logits.length - V), ref.logitsLast)).toBeLessThan(F32_BUDGET);
      expect(done.ids).toEqual(ref.tokens);
      expect(done.stats.visualTokens.perLayer).toEqual([16, 16, 16]);
      expect(done.stats.visualTokens.meanFraction).toBe(1);
    });

    for (const quant of ["q8", "q4"] as const) {
      it(`int8 path (${quant}) stays within the quantization budget and answers like the reference`, async () => {
        const files = quant === "q8" ? FILES : tinyModelFiles("q4");
        const ref = quant === "q8" ? REF : new Reference(files);
        const model = await loadModel(new MemorySource(files), { kernels: build.module });
        let logits: Float32Array | null = null;
        const done = await model.run(IMAGE, QUESTION, {
          maxTokens: 1,
          trace: (n, d) => n === "logits" && (logits = d),
        });
        const ids = model.tokenizer.promptIds(QUESTION);
        const r = ref.run(ids, ref.image(ref.pixels(IMAGE.data)).projector_out, { maxTokens: 1, stop: 2 });
        const V = model.config.text.vocabSize;
        const budget = INT8_LOGIT_BUDGET * Math.max(...r.logitsLast.map(Math.abs));
        const err = maxAbsDiff(logits!.subarray(logits!.length - V), r.logitsLast);
        expect(err).toBeLessThan(budget);
        // the reference's top answer leads by more than twice the error: int8 must choose it too
        const sorted = [...r.logitsLast].sort((a, b) => b - a);
        expect(sorted[0] - sorted[1]).toBeGreaterThan(2 * err);
        expect(done.ids[0] ?? 2).toBe(argmax(r.logitsLast));
      });
    }

    it("prunes through the policy hook: rows dropped, positions kept, attention captured", async () => {
      const model = await loadModel(new MemorySource(FILES), { kernels: build.module, precision: "f32" });
      const keep = new Map([
        [0, [0, 2, 3, 5, 8, 9, 12, 15]],
        [1, [2, 8, 15]],
      ]);
      const policy = new FixedPolicy(keep);
      let logits: Float32Array | null = null;
      const done = await model.run(IMAGE, QUESTION, {
        maxTokens: 5,
        policy,
        trace: (n, d) => n === "logits" && (logits = d),
      });
      const ids = model.tokenizer.promptIds(QUESTION);
      const ref = REF.run(ids, REF.image(REF.pixels(IMAGE.data)).projector_out, {
        keepAfter: keep,
        maxTokens: 5,
        stop: 2,
      });
      expect(done.stats.visualTokens.perLayer).toEqual([16, 8, 3]);
      expect(ref.visualPerLayer).toEqual([16, 8, 3]);
      const V = model.config.text.vocabSize;
      expect(maxAbsDiff(logits!.subarray(logits!.length - V), ref.logitsLast)).toBeLessThan(F32_BUDGET);
      expect(done.ids).toEqual(ref.tokens);
      // layer 1 saw the kept tokens at their original positions
      const v1 = policy.views[1];
      expect([...v1.visualIndex]).toEqual(keep.get(0));
      expect([...v1.positions.subarray(1, 9)]).toEqual(keep.get(0)!.map((g) => g + 1));
      expect(v1.textRows.length).toBe(ids.length - 17);
      // captured rows = the reference's head-mean probabilities of those rows at layer 1
      const a = policy.captured!;
      expect(a.keys).toBe(v1.rows);
      a.rows.forEach((row, i) => {
        const refRow = ref.probs[1].subarray(row * a.keys, (row + 1) * a.keys);
        expect(maxAbsDiff(a.probs.subarray(i * a.keys, (i + 1) * a.keys), refRow)).toBeLessThan(F32_BUDGET);
      });
      expect(done.stats.llmPrefillMacs).toBeGreaterThan(0);
    });

    it("streams token events with timings and a final stats event", async () => {
      const model = await loadModel(new MemorySource(FILES), { kernels: build.module });
      const events = [];
      for await (const ev of model.generate(IMAGE, QUESTION, { maxTokens: 3, stopTokens: [] }))
        events.push(ev);
      expect(events.map((e) => e.type)).toEqual(["token", "token", "token", "done"]);
      const done = events[3];
      if (done.type !== "done") throw new Error("no done event");
      expect(done.stats.finishReason).toBe("length");
      expect(done.stats.timings.llmLayersMs).toHaveLength(3);
      expect(done.stats.timings.visionLayersMs).toHaveLength(2);
      expect(done.stats.peakMemoryBytes).toBe(model.memoryBytes);
      expect(
        events
          .slice(0, 3)
          .map((e) => (e.type === "token" ? e.text : ""))
          .join(""),
      ).toBe(done.text);
    });

    it("samples reproducibly with a seed, and top-p near 0 is greedy", async () => {
      const model = await loadModel(new MemorySource(FILES), { kernels: build.module });
      const opts = { maxTokens: 6, temperature: 1.5, seed: 42, stopTokens: [] };
      const a = await model.run(IMAGE, QUESTION, opts);
      const b = await model.run(IMAGE, QUESTION, opts);
      expect(a.ids).toEqual(b.ids);
      const greedy = await model.run(IMAGE, QUESTION, { maxTokens: 6, stopTokens: [] });
      const nucleus = await model.run(IMAGE, QUESTION, { ...opts, topP: 1e-9 });
      expect(nucleus.ids).toEqual(greedy.ids);
    });
  });
}
