// --keep F --count-by mean|input (tools/eval/calibrate.ts) for the schedule-driven methods: the knobs land
// on the target under the asked counting, and a method that prunes inside the LLM refuses the input
// counting with a message naming it (its input fraction is always 1).
import { describe, expect, it } from "vitest";
import type { Model } from "../../../wasm/index";
import { knobsFor } from "../../../tools/eval/calibrate";

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
    for (const method of ["fastv", "pdrop", "grid", "dart", "atp", "random"] as const)
      await expect(knobsFor(model, method, 0.25, [], {}, "input")).rejects.toThrow(
        new RegExp(`${method} prunes inside the LLM`),
      );
    expect(await knobsFor(model, "none", 0.25, [])).toEqual({});
  });
});
