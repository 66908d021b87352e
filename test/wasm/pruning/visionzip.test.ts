// VisionZip (wasm/pruning/visionzip.ts): the plan on a hand-made attention pattern (dominant = most
// attention received; contextual targets evenly spaced among the rest; each other token merged into the
// target of most similar key), and through the engine: the visual tokens it feeds the LLM equal the
// float64 reference's projector applied to the reference features merged by the same plan.
import { describe, expect, it } from "vitest";
import { loadModel, MemorySource } from "../../../wasm/index";
import { VisionZipPolicy, zipPlan } from "../../../wasm/pruning/visionzip";
import { BUILDS } from "../../helpers/kernels";
import { randomImage, tinyModelFiles } from "../helpers/tiny";
import { Reference } from "../reference";

/** f32 engine vs f64 reference on the projector's output (test/wasm/engine.test.ts F32_BUDGET). */
const F32_BUDGET = 1e-4;

describe("VisionZip's plan", () => {
  it("keeps the most attended tokens and merges the rest into evenly spaced targets by key similarity", () => {
    const n = 8;
    const probs = new Float32Array(n * n);
    // every row attends to tokens 5 and 2 most (0.4, 0.3), the rest share 0.3
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) probs[i * n + j] = j === 5 ? 0.4 : j === 2 ? 0.3 : 0.05;
    // keys: tokens 0, 1, 3 along e0; 4, 6, 7 along e1
    const e0 = [1, 0];
    const e1 = [0, 1];
    const keys = Float32Array.from([e0, e0, e1, e0, e1, e1, e1, e1].flat());
    const plan = zipPlan(probs, keys, n, 2, 4, 2);
    expect(plan.dominant.sort()).toEqual([2, 5]);
    // the rest [0, 1, 3, 4, 6, 7]: step 3 -> targets 0 and 4; 1, 3 go to 0 (e0), 6, 7 to 4 (e1)
    expect([...plan.merged.keys()]).toEqual([0, 4]);
    expect(plan.merged.get(0)).toEqual([1, 3]);
    expect(plan.merged.get(4)).toEqual([6, 7]);
  });

  it("honours the token budget exactly", () => {
    const n = 16;
    const probs = Float32Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) / 100);
    const keys = Float32Array.from({ length: n * 3 }, (_, i) => Math.sin(i));
    for (const [k, c] of [
      [1, 0],
      [4, 1],
      [6, 2],
      [16, 3],
    ]) {
      const plan = zipPlan(probs, keys, n, 3, k, c);
      expect(plan.dominant.length + plan.merged.size).toBe(k);
    }
  });
});

describe("VisionZip through the engine", () => {
  it("feeds the LLM the reference projector of the reference features merged by its plan", async () => {
    const files = tinyModelFiles("q8");
    const ref = new Reference(files);
    const model = await loadModel(new MemorySource(files), { kernels: BUILDS[0].module, precision: "f32" });
    const S = ref.cfg.vision.imageSize;
    const image = randomImage(S, S);
    const policy = new VisionZipPolicy({ tokens: 6, contextual: 2 });
    let projected: Float32Array | null = null;
    const done = await model.run(image, "what color is the square ?", {
      maxTokens: 1,
      policy,
      trace: (name, d) => name === "projector_out" && (projected = d.slice()),
    });
    expect(done.stats.visualTokens.perLayer[0]).toBe(6);
    expect(done.stats.visualTokens.inputFraction).toBe(6 / ref.cfg.imageSeqLength);
    const feature = Float64Array.from(ref.image(ref.pixels(image.data))["vision.encoder_out"]);
    const D = ref.cfg.vision.hidden;
    for (const [t, members] of policy.plan!.merged) {
      if (!members.length) continue;
      for (let x = 0; x < D; x++)
        feature[t * D + x] += members.reduce((s, m) => s + feature[m * D + x], 0) / members.length;
    }
    const want = ref.project(feature);
    const Dt = ref.cfg.text.hidden;
    const kept = [...policy.plan!.dominant, ...policy.plan!.merged.keys()];
    let err = 0;
    for (const g of kept)
      for (let x = 0; x < Dt; x++) err = Math.max(err, Math.abs(projected![g * Dt + x] - want[g * Dt + x]));
    expect(err).toBeLessThan(F32_BUDGET);
  });
});
