// atp-base's generated weights (tools/base/build.ts), on a shrunken copy of its config so the test is
// quick: deterministic per seed, every tensor of the name table (the tied embedding once, quantized),
// loadable and answering in q8 and q4, whole and split, with the untrained ATP modules keeping exactly
// the SAP sub-grids above theta_s. And atp-base's own config: the sizes docs/atp-base.md states.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createPolicy, loadModel, loadStage, MemorySource, openSplitModel } from "../../../wasm/index";
import { parseConfig, tensorSpecs } from "../../../wasm/tools";
import { sapScores } from "../../../wasm/pruning/atp";
import { BASE_ATP_Z, BASE_CONFIG, buildBase } from "../../../tools/base/build";
import { kernelModule } from "../../../tools/eval/node";

const base = JSON.parse(readFileSync(BASE_CONFIG, "utf8"));
const small = {
  ...base,
  vision_config: {
    ...base.vision_config,
    image_size: 112,
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 2,
  },
  text_config: {
    ...base.text_config,
    vocab_size: 300,
    hidden_size: 64,
    intermediate_size: 96,
    num_hidden_layers: 6,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 96,
  },
  image_seq_length: 49,
  atp: { ...base.atp, layers: [1, 3] },
};
const configJson = new TextEncoder().encode(JSON.stringify(small));
const image = { width: 40, height: 30, data: new Uint8Array(40 * 30 * 3).map((_, i) => (i * 29) % 256) };

describe("atp-base weights", () => {
  it("the same seed gives the same bytes; another seed, other weights", () => {
    const a = buildBase({ quant: "q8", seed: 1, configJson }).files;
    const b = buildBase({ quant: "q8", seed: 1, configJson }).files;
    const c = buildBase({ quant: "q8", seed: 2, configJson }).files;
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [k, v] of a) expect(Buffer.compare(v, b.get(k)!), k).toBe(0);
    expect(Buffer.compare(a.get("shard-000.bin")!, c.get("shard-000.bin")!)).not.toBe(0);
    const manifest = JSON.parse(new TextDecoder().decode(a.get("manifest.json")));
    const names = manifest.shards.flatMap((s: { tensors: { name: string }[] }) =>
      s.tensors.map((t) => t.name),
    );
    expect(names).toEqual(tensorSpecs(parseConfig(small)).map((s) => s.name));
    expect(names).not.toContain("llm.head.weight"); // tied: lm_head is the (quantized) embedding
    const embed = manifest.shards
      .flatMap((s: { tensors: { name: string; dtype: string }[] }) => s.tensors)
      .find((t: { name: string }) => t.name === "llm.embed.weight");
    expect(embed.dtype).toBe("q8");
  });

  it.each(["q8", "q4"] as const)(
    "%s: loads, answers the same whole and split, ATP keeps the SAP grids",
    async (quant) => {
      const files = buildBase({ quant, seed: 3, configJson }).files;
      const kernels = kernelModule("relaxed");
      const model = await loadModel(new MemorySource(files), { kernels });
      const cfg = model.config;
      const whole = await model.run(image, "what color is the circle ?", {
        maxTokens: 5,
        policy: createPolicy("atp", {}),
      });
      expect(whole.ids.length).toBeGreaterThan(0);
      const theta = 1 / (1 + Math.exp(-BASE_ATP_Z[1]));
      const sap = sapScores(Math.sqrt(cfg.imageSeqLength), cfg.atp!.gridStrides, cfg.atp!.sapLambda);
      const kept = sap.filter((s) => s > theta).length;
      expect(whole.stats.visualTokens.perLayer).toEqual([49, 49, kept, kept, kept, kept]);
      const source = new MemorySource(files, 4096);
      const split = await openSplitModel(source, "vision|0-2|3-5", (part) => {
        const stage = loadStage(source, { kernels }, part);
        return {
          part,
          encode: async (img) => (await stage).encode(img),
          prefill: async (req) => (await stage).prefill(req),
          decode: async (req) => (await stage).decode(req),
          end: async (s) => (await stage).end(s),
        };
      });
      const parts = await split.run(image, "what color is the circle ?", {
        maxTokens: 5,
        policy: createPolicy("atp", {}),
      });
      expect(parts.ids).toEqual(whole.ids);
      expect(parts.stats.visualTokens.perLayer).toEqual(whole.stats.visualTokens.perLayer);
    },
  );

  it("atp-base's config has the sizes docs/atp-base.md states", () => {
    const c = parseConfig(base);
    const count = (prefix: string) =>
      tensorSpecs(c)
        .filter((s) => s.name.startsWith(prefix))
        .reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
    expect(c.imageSeqLength).toBe(196);
    expect(count("vision.") / 1e6).toBeCloseTo(85.8, 1);
    expect(count("llm.layers.") / 1e6).toBeCloseTo(106.2, 1);
    expect(count("llm.embed.") / 1e6).toBeCloseTo(28.3, 1);
  });
});
