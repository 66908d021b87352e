// The cache of vision outputs (wasm/engine/vision-cache.ts) and Model.generate's use of it: a request
// with an `imageKey` seen before skips preprocessing, the encoder and the projector and answers exactly
// as the same request computed afresh, for every method that can use it, and decodes a deferred image only
// on a miss; the key tells reductions apart;
// methods that read the encoder's attention, tracers and requests without a key always compute.
import { describe, expect, it } from "vitest";
import { createPolicy, loadModel, MemorySource, type MethodName } from "../../../wasm/index";
import { VisionCache, visionCacheKey, type CachedVision } from "../../../wasm/engine/vision-cache";
import { BUILDS } from "../../helpers/kernels";
import { randomImage, tinyModelFiles, TINY_ATP_CONFIG, TINY_CONFIG } from "../helpers/tiny";

const relaxed = BUILDS.find((b) => b.name === "relaxed") ?? BUILDS[0];
const IMAGE = randomImage(40, 30);
const OTHER = randomImage(40, 30, 9);
const PROMPT = "what color is the square ?";

const entry = (n: number): CachedVision => ({
  visual: new Float32Array(n),
  grid: new Int32Array(n),
  sizes: new Float32Array(n),
  rowsPerLayer: [n],
});

describe("VisionCache", () => {
  it("keeps the most recently used entries up to its capacity", () => {
    const c = new VisionCache(2);
    c.set("a", entry(1));
    c.set("b", entry(2));
    expect(c.get("a")?.visual.length).toBe(1); // a is now the newest
    c.set("c", entry(3)); // evicts b
    expect(c.has("b")).toBe(false);
    expect(c.has("a") && c.has("c")).toBe(true);
    c.has("a"); // touched: c is the oldest
    c.set("d", entry(4));
    expect([c.has("a"), c.has("c"), c.has("d")]).toEqual([true, false, true]);
    expect(c.size).toBe(2);
    expect(c.bytes).toBe(3 * 4 * (1 + 4));
    expect([c.hits, c.misses]).toEqual([1, 0]);
    expect(c.get("zz")).toBeUndefined();
    expect(c.misses).toBe(1);
    c.clear();
    expect(c.size).toBe(0);
  });

  it("stores nothing at capacity 0 and refuses a bad capacity", () => {
    const c = new VisionCache(0);
    c.set("a", entry(1));
    expect(c.has("a")).toBe(false);
    expect(() => new VisionCache(-1)).toThrow();
    expect(() => new VisionCache(1.5)).toThrow();
  });

  it("keys reductions apart", () => {
    const keys = [
      visionCacheKey("k", null),
      visionCacheKey("k", { layer: 0, tokens: 9 }),
      visionCacheKey("k", { layer: 0, tokens: 9, merge: 1 }),
      visionCacheKey("k", { layer: 0, tokens: 8 }),
      visionCacheKey("j", null),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    expect(visionCacheKey("k", { layer: 0, tokens: 9 })).toBe(
      visionCacheKey("k", { layer: 0, tokens: 9, merge: 0 }),
    );
  });
});

describe("Model.generate with an imageKey", () => {
  const load = (config: object = TINY_CONFIG) =>
    loadModel(new MemorySource(tinyModelFiles("q8", 1, config)), { kernels: relaxed.module });

  it("answers a second question on the same image from the cache, exactly as computed afresh", async () => {
    const model = await load(TINY_ATP_CONFIG);
    const fresh = await load(TINY_ATP_CONFIG);
    const methods: MethodName[] = ["none", "atp", "grid", "fastv", "divprune"];
    for (const method of methods) {
      const first = await model.run(IMAGE, PROMPT, {
        maxTokens: 6,
        policy: createPolicy(method, {}),
        imageKey: "img",
      });
      const second = await model.run(IMAGE, "what color is red ?", {
        maxTokens: 6,
        policy: createPolicy(method, {}),
        imageKey: "img",
      });
      const alone = await fresh.run(IMAGE, "what color is red ?", {
        maxTokens: 6,
        policy: createPolicy(method, {}),
      });
      expect(first.stats.visionCached, method).toBe(method !== methods[0]); // the earlier methods stored it
      expect(second.stats.visionCached, method).toBe(true);
      expect(second.ids, method).toEqual(alone.ids);
      expect(second.stats.visualTokens.indexPerLayer, method).toEqual(alone.stats.visualTokens.indexPerLayer);
      expect(second.stats.visionRows, method).toEqual(alone.stats.visionRows);
      expect(second.stats.visionMacs).toBe(0);
      expect(alone.stats.visionMacs).toBeGreaterThan(0);
      expect(second.stats.timings.visionLayersMs).toEqual([]);
    }
    expect(model.visionCache.size).toBe(1); // one image, no reduction: one entry for every method
  });

  it("keys by image and by vision reduction, and a hit after a reduction equals the fresh run", async () => {
    const model = await load();
    const fresh = await load();
    const vision = { layer: 0, tokens: 9 };
    const a = await model.run(IMAGE, PROMPT, { maxTokens: 4, imageKey: "a" });
    const b = await model.run(OTHER, PROMPT, { maxTokens: 4, imageKey: "b" });
    const r1 = await model.run(IMAGE, PROMPT, { maxTokens: 4, imageKey: "a", vision });
    const r2 = await model.run(IMAGE, PROMPT, { maxTokens: 4, imageKey: "a", vision });
    expect([a, b, r1, r2].map((r) => r.stats.visionCached)).toEqual([false, false, false, true]);
    const alone = await fresh.run(IMAGE, PROMPT, { maxTokens: 4, vision });
    expect(r2.ids).toEqual(alone.ids);
    expect(r2.stats.visionRows).toEqual({ perLayer: [16, 9], out: 9 });
    expect(r2.stats.visualTokens.indexPerLayer).toEqual(alone.stats.visualTokens.indexPerLayer);
    expect(
      model.cachedVision("a", vision) && model.cachedVision("a", null) && model.cachedVision("b", null),
    ).toBe(true);
    expect(model.cachedVision("b", vision)).toBe(false);
  });

  it("decodes a deferred image only when the vision path runs", async () => {
    const model = await load();
    let decodes = 0;
    const decode = async () => {
      decodes++;
      return IMAGE;
    };
    const miss = await model.run(decode, PROMPT, { maxTokens: 4, imageKey: "d" });
    expect([decodes, miss.stats.visionCached]).toEqual([1, false]);
    const hit = await model.run(decode, PROMPT, { maxTokens: 4, imageKey: "d" });
    expect([decodes, hit.stats.visionCached]).toEqual([1, true]);
    expect(hit.ids).toEqual(miss.ids);
    expect((await model.run(decode, PROMPT, { maxTokens: 4 })).ids).toEqual(miss.ids); // no key: decoded
    expect(decodes).toBe(2);
  });

  it("computes afresh without a key, for a method reading the encoder's attention, and with a tracer", async () => {
    const model = await load();
    await model.run(IMAGE, PROMPT, { maxTokens: 2, imageKey: "x" });
    const noKey = await model.run(IMAGE, PROMPT, { maxTokens: 2 });
    const zip = await model.run(IMAGE, PROMPT, {
      maxTokens: 2,
      imageKey: "x",
      policy: createPolicy("visionzip", {}),
    });
    const traced = await model.run(IMAGE, PROMPT, { maxTokens: 2, imageKey: "x", trace: () => {} });
    expect([noKey, zip, traced].map((r) => r.stats.visionCached)).toEqual([false, false, false]);
    expect(zip.stats.visionMacs).toBeGreaterThan(0);
    expect(model.visionCache.size).toBe(1);
  });
});
