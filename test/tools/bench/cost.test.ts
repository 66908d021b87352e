// The served cost table (weights/cost.json, written by npm run bench:cost -- --write): it loads with the
// model, and every budget point is one the registry accepts, ordered as chooseBudget walks them, with
// counts the model can have. A table left stale by new weights or a renamed knob fails here.
import { describe, expect, it } from "vitest";
import { layerMs } from "../../../wasm/engine/cost";
import {
  isMethod,
  loadModel,
  methodSpec,
  methodUnavailable,
  validatedKnobs,
  visionLayersRun,
  visionReduction,
} from "../../../wasm/index";
import { FileSource, kernelModule } from "../../../tools/eval/node";

describe("weights/cost.json", () => {
  it("loads with the served model and holds valid budget points for every method it can run", async () => {
    const model = await loadModel(new FileSource("weights"), { kernels: kernelModule("relaxed") });
    const table = model.info.cost;
    expect(table).not.toBeNull();
    const L = model.config.text.layers;
    const N = model.config.imageSeqLength;
    const keys = table!.platforms.map((row) => row.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const row of table!.platforms) {
      // runtime/build/int8dot (wasm/engine/cost.ts platformKey)
      expect(row.key).toMatch(/^(workerd|node)\/(relaxed\/(fused|emulated)|simd)$/);
      expect(row.safety).toBeGreaterThanOrEqual(1);
      expect(row.rates.vision.layers).toBe(visionLayersRun(model.config));
      expect(layerMs(row.rates.vision, model.config.imageSeqLength)).toBeGreaterThan(0);
      for (const [method, points] of Object.entries(row.methods)) {
        expect(isMethod(method), method).toBe(true);
        if (!isMethod(method)) continue;
        expect(methodUnavailable(method, model.config)).toBeNull();
        expect(points.length).toBeGreaterThan(0);
        points.forEach((p, i) => {
          expect(() => validatedKnobs(method, p.knobs)).not.toThrow();
          expect(p.visualPerLayer).toHaveLength(L);
          expect(Math.max(...p.visualPerLayer)).toBeLessThanOrEqual(N);
          expect(p.p95Ratio).toBeGreaterThanOrEqual(1);
          // a per-instance method's points carry the counts of its source (the API runs no source)
          if (methodSpec(method).perInstance) expect(p.knobs).toHaveProperty("counts");
          // most tokens first; a point's twin with a vision reduction right after it, at the same keep,
          // its knobs set again after the reduction: it keeps about the fraction its point keeps, or all
          // the reduction leaves
          if (p.vision) {
            expect(visionReduction(p.vision, model.config, visionLayersRun(model.config))).toEqual(p.vision);
            expect(p.visionRows).toHaveLength(visionLayersRun(model.config));
            expect(points[i - 1].keep).toBe(p.keep);
            expect(points[i - 1].vision).toBeUndefined();
            const fraction = (q: typeof p) => q.visualPerLayer.reduce((a, b) => a + b, 0) / L / N;
            const reachable = Math.min(fraction(points[i - 1]), p.vision.tokens / N);
            expect(Math.abs(fraction(p) - reachable), `${method} at ${p.keep}`).toBeLessThan(0.05);
          } else if (i > 0) expect(p.keep).toBeLessThan(points[i - 1].keep);
        });
      }
    }
  });
});
