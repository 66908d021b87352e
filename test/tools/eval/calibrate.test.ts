// --keep F --count-by mean|input (tools/eval/calibrate.ts) for the schedule-driven methods: the knobs land
// on the target under the asked counting, and a method that prunes inside the LLM refuses the input
// counting with a message naming it (its input fraction is always 1); ATP, measured, reaches an input
// target only with its first module at the input.
import { describe, expect, it } from "vitest";
import {
  loadModel,
  MemorySource,
  methodSpec,
  visionLayersRun,
  visionReduction,
  type Model,
} from "../../../wasm/index";
import { fractionOn, knobsFor } from "../../../tools/eval/calibrate";
import type { EvalItem } from "../../../tools/eval/data";
import { BUILDS } from "../../helpers/kernels";
import { randomImage, TINY_ATP_CONFIG, tinyModelFiles } from "../../wasm/helpers/tiny";

/** Schedule rules read only the config's layer and visual-token counts. */
const model = { config: { text: { layers: 8 }, imageSeqLength: 144 } } as unknown as Model;

describe("--keep with --count-by", () => {
  it("sets the pre-LLM methods' token count for either counting", async () => {
    for (const method of ["divprune", "cdpruner", "visionzip"] as const) {
      expect(await knobsFor(model, method, 0.25, [], {}, "mean")).toEqual({ tokens: 36 });
      expect(await knobsFor(model, method, 0.25, [], {}, "input")).toEqual({ tokens: 36 });
    }
  });

  it("sets DART's layer and count on the mean counting", async () => {
    const k = await knobsFor(model, "dart", 0.25, [], {}, "mean");
    expect(k.layer).toBe(1);
    expect(Math.abs((k.layer! * 144 + (8 - k.layer!) * k.tokens!) / (8 * 144) - 0.25)).toBeLessThan(0.005);
  });

  it("refuses --count-by input for methods pruning inside the LLM", async () => {
    for (const method of ["fastv", "pdrop", "grid", "dart", "random"] as const)
      await expect(knobsFor(model, method, 0.25, [], {}, "input")).rejects.toThrow(
        new RegExp(`${method} prunes inside the LLM`),
      );
    expect(await knobsFor(model, "none", 0.25, [])).toEqual({});
  });

  it("calibrates ATP on the input counting only with its first module at the input", async () => {
    const tiny = await loadModel(new MemorySource(tinyModelFiles("q8", 1, TINY_ATP_CONFIG)), {
      kernels: BUILDS[0].module,
    });
    const item = (seed: number, q: string): EvalItem => ({
      family: "colour",
      question: q,
      answer: "",
      qIds: tiny.tokenizer.encode(q),
      image: randomImage(96, 96, seed).data,
      imageIndex: seed,
    });
    const items = [item(3, "what color is the square ?"), item(5, "is there a circle ?")];
    await expect(knobsFor(tiny, "atp", 0.5, items, {}, "input")).rejects.toThrow(
      /every visual token enters the LLM/,
    );
    const knobs = await knobsFor(tiny, "atp", 0.5, items, { input: 1 }, "input");
    const reached = await fractionOn(tiny, items, "atp", knobs, "input");
    expect(Math.abs(reached - 0.5)).toBeLessThan(0.15); // 16 visual tokens: steps of 1/16 per image
  });

  it("sets a schedule again after a vision reduction, where its closed form counts from every patch", async () => {
    const tiny = await loadModel(new MemorySource(tinyModelFiles("q8", 1, TINY_ATP_CONFIG)), {
      kernels: BUILDS[0].module,
    });
    const items = [3, 5, 7].map((seed): EvalItem => ({
      family: "colour",
      question: "what color is the square ?",
      answer: "",
      qIds: tiny.tokenizer.encode("what color is the square ?"),
      image: randomImage(96, 96, seed).data,
      imageIndex: seed,
    }));
    const vision = visionReduction(
      { layer: 0, tokens: 10, merge: 1 },
      tiny.config,
      visionLayersRun(tiny.config),
    );
    const rule = methodSpec("grid").keep;
    if (rule?.by !== "schedule") throw new Error("grid has a closed form");
    const ctx = { layers: tiny.config.text.layers, numVisual: tiny.config.imageSeqLength };
    // the closed form keeps grid places; after 6 of 16 patches merged away some are gone
    const closed = await fractionOn(tiny, items, "grid", rule.knobs(0.4, ctx, {}), "mean", vision);
    const knobs = await knobsFor(tiny, "grid", 0.4, items, {}, "mean", vision);
    const reached = await fractionOn(tiny, items, "grid", knobs, "mean", vision);
    expect(closed).toBeLessThan(0.4);
    expect(Math.abs(reached - 0.4)).toBeLessThan(Math.abs(closed - 0.4));
    expect(Math.abs(reached - 0.4)).toBeLessThan(0.08);
  });
});
