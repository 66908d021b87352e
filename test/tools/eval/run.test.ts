// The evaluation loop's report (tools/eval/run.ts) on the tiny random ATP model over real test-split
// images: the answers are the engine's own, the visual-token figures follow the method, and the timings
// split the LLM prefill into its pruning part.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { itemImage, loadSplit, type EvalItem } from "../../../tools/eval/data";
import { kernelModule } from "../../../tools/eval/node";
import { evaluate, MAX_ANSWER_TOKENS } from "../../../tools/eval/run";
import {
  createPolicy,
  loadModel,
  MemorySource,
  visionLayersRun,
  visionReduction,
  type Model,
} from "../../../wasm/index";
import { accuracyTable, score } from "../../../tools/shapesvqa/score";
import { TINY_ATP_CONFIG, tinyModelFiles } from "../../wasm/helpers/tiny";

const root = mkdtempSync(join(tmpdir(), "atp-eval-run-"));
let model: Model;
let items: EvalItem[];

beforeAll(async () => {
  model = await loadModel(new MemorySource(tinyModelFiles("q8", 1, TINY_ATP_CONFIG)), {
    kernels: kernelModule("relaxed"),
  });
  const questions = ["what color is the square ?", "how many objects are there ?", "is there a circle ?"];
  items = loadSplit(join(root, "data"), "test")
    .slice(0, 3)
    .map((it, i) => ({ ...it, qIds: [...model.tokenizer.encode(questions[i])], answer: "red" }));
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("evaluate", () => {
  it("reports the engine's answers and every token kept by none, with no pruning time beyond bookkeeping", async () => {
    const r = await evaluate(model, items, "none", "test");
    expect(r.count).toBe(3);
    const n = model.config.imageSeqLength;
    expect(r.visual_tokens.per_layer).toEqual(new Array(model.config.text.layers).fill(n));
    expect(r.visual_tokens.mean_fraction).toBe(1);
    const preds = [];
    for (const it of items) {
      const done = await model.run(itemImage(it), it.qIds, {
        maxTokens: MAX_ANSWER_TOKENS,
        policy: createPolicy("none", {}),
      });
      preds.push({ family: it.family, answer: it.answer, prediction: done.text });
    }
    expect(r.accuracy).toEqual(accuracyTable(score(preds)));
    expect(r.timings_ms.prune).toBeGreaterThanOrEqual(0);
    expect(r.timings_ms.prune).toBeLessThanOrEqual(r.timings_ms.llm_prefill);
  });

  it("reports ATP's pruning time as a part of the LLM prefill, and fewer tokens after its modules", async () => {
    const r = await evaluate(model, items, "atp", "test");
    expect(r.visual_tokens.mean_fraction).toBeLessThan(1);
    expect(r.timings_ms.prune).toBeGreaterThan(0);
    expect(r.timings_ms.prune).toBeLessThanOrEqual(r.timings_ms.llm_prefill);
    expect(r.timings_ms.ttft).toBeGreaterThanOrEqual(r.timings_ms.llm_prefill);
  });

  it("gives the random control ATP's counts of each question after the same vision reduction", async () => {
    const vision = visionReduction(
      { layer: 0, tokens: 10, merge: 1 },
      model.config,
      visionLayersRun(model.config),
    );
    const atp = await evaluate(model, items, "atp", "test", () => {}, { budget: 1 }, vision);
    const random = await evaluate(model, items, "random", "test", () => {}, { budget: 1 }, vision);
    expect(Math.max(...atp.visual_tokens.per_layer)).toBeLessThanOrEqual(10);
    expect(random.visual_tokens.per_layer).toEqual(atp.visual_tokens.per_layer);
  });
});
