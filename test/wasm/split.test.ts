// A model split across stages (wasm/split.ts) answers as the single-isolate Model: same tokens and the
// same per-layer pruning, for a method per kind (none, a learned in-LLM one, an input one, a merging one),
// greedy and sampled, with every stage loading only its own tensors. And what it refuses.
import { describe, expect, it } from "vitest";
import {
  createPolicy,
  loadModel,
  loadStage,
  MemorySource,
  openSplitModel,
  parseSplit,
} from "../../wasm/index";
import { BUILDS } from "../helpers/kernels";
import { TINY_ATP_CONFIG, tinyModelFiles } from "./helpers/tiny";

const kernels = BUILDS[0].module;
const files = tinyModelFiles("q8", 3, TINY_ATP_CONFIG);
const image = { width: 20, height: 12, data: new Uint8Array(20 * 12 * 3).map((_, i) => (i * 53) % 256) };
const SPLIT = "vision|0-0|1-2";

async function split(spec = SPLIT) {
  const source = new MemorySource(files, 1000);
  const stages = new Map<string, Awaited<ReturnType<typeof loadStage>>>();
  const model = await openSplitModel(source, spec, (part) => {
    const key = JSON.stringify(part);
    let stage: Promise<Awaited<ReturnType<typeof loadStage>>> | null = null;
    const get = async () => {
      stage ??= loadStage(source, { kernels }, part).then((s) => (stages.set(key, s), s));
      return stage;
    };
    return {
      part,
      encode: async (img) => (await get()).encode(img),
      prefill: async (req) => (await get()).prefill(req),
      decode: async (req) => (await get()).decode(req),
      end: async (s) => (await get()).end(s),
    };
  });
  return { model, stages };
}

describe("split model", () => {
  it.each([
    ["none", {}],
    ["atp", {}],
    ["divprune", { tokens: 5 }],
    ["grid", { tokens: 6, merge: 1 }],
  ])("%s %j: same tokens and pruning as the whole model", async (method, knobs) => {
    const whole = await loadModel(new MemorySource(files), { kernels });
    const { model } = await split();
    for (const sampling of [{}, { temperature: 0.9, seed: 5 }]) {
      const opts = () => ({ maxTokens: 6, ...sampling, policy: createPolicy(method as never, knobs) });
      const a = await whole.run(image, [8, 9, 10, 11], opts());
      const b = await model.run(image, [8, 9, 10, 11], opts());
      expect(b.ids).toEqual(a.ids);
      expect(b.stats.visualTokens.perLayer).toEqual(a.stats.visualTokens.perLayer);
      expect(b.stats.visualTokens.indexPerLayer).toEqual(a.stats.visualTokens.indexPerLayer);
      expect(b.stats.llmPrefillMacs).toBe(a.stats.llmPrefillMacs);
    }
  });

  it("each stage holds only its part's tensors", async () => {
    const { model, stages } = await split();
    await model.run(image, [8, 9], { maxTokens: 2 });
    const whole = await loadModel(new MemorySource(files), { kernels });
    const list = [...stages.values()];
    expect(list.length).toBe(3);
    for (const s of list) expect(s.info.weightsBytes).toBeLessThan(0.7 * whole.info.weightsBytes);
    const placed = list.reduce((a, s) => a + s.info.weightsBytes, 0);
    // every tensor in one stage, the final norm (read by DART's scoring) in both decoder stages
    const norm = whole.config.text.hidden * 4;
    expect(placed).toBeGreaterThanOrEqual(whole.info.weightsBytes);
    expect(placed).toBeLessThanOrEqual(whole.info.weightsBytes + norm + 64);
  });

  it("refuses splits that miss or repeat layers, and vision-reading methods", async () => {
    const cfg = (await loadModel(new MemorySource(files), { kernels })).config;
    expect(() => parseSplit("vision|0-1", cfg)).toThrow(/layers 0-2/);
    expect(() => parseSplit("0-2|vision", cfg)).toThrow(/vision tower must come first/);
    expect(() => parseSplit("vision|0-1|1-2", cfg)).toThrow(/layer 2 is not where/);
    expect(() => parseSplit("vision|0-5", cfg)).toThrow(/outside/);
    expect(parseSplit("vision| @0-1|2-2", cfg)).toEqual(parseSplit("vision|0-1|2-2", cfg)); // "@": where, not what
    expect(parseSplit("vision+0-0|1-2", cfg)).toEqual([
      { vision: true, from: 0, to: 1 },
      { vision: false, from: 1, to: 3 },
    ]);
    const { model } = await split();
    await expect(model.run(image, [8], { policy: createPolicy("visionzip", {}) })).rejects.toThrow(
      /cannot run split/,
    );
  });
});
