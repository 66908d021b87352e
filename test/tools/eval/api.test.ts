// ShapesVQA through the HTTP API (tools/eval/api.ts): `wrangler dev` on a local R2 seeded with the tiny
// random model, questions on real generated test-split images; the answers the API gives are the engine's
// own on the same pixels, and the report scores them as tools/shapesvqa/score.ts does.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateApi, questionMessages } from "../../../tools/eval/api";
import { itemImage, loadSplit, type EvalItem } from "../../../tools/eval/data";
import { kernelModule } from "../../../tools/eval/node";
import { MAX_ANSWER_TOKENS } from "../../../tools/eval/run";
import { startSeededDevServer, type DevServer } from "../../../tools/seed/dev";
import { score } from "../../../tools/shapesvqa/score";
import { loadModel, MemorySource } from "../../../wasm/index";
import { tinyModelFiles } from "../../wasm/helpers/tiny";

const FILES = tinyModelFiles("q8");
const root = mkdtempSync(join(tmpdir(), "atp-eval-api-"));
let server: DevServer | undefined;

// the tiny model's vocabulary (test/wasm/helpers/tiny.ts) on real benchmark images
const ITEMS: EvalItem[] = loadSplit(join(root, "data"), "test")
  .slice(0, 5)
  .map((it, i) => ({
    ...it,
    family: "colour",
    question: "what color is the square ?",
    answer: ["red", "blue", "green", "red", "blue"][i],
  }));

beforeAll(async () => {
  const weights = join(root, "weights");
  mkdirSync(weights);
  for (const [k, v] of FILES) writeFileSync(join(weights, k), v);
  server = await startSeededDevServer({ weightsDir: weights });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe("evaluateApi", () => {
  it("sends the question with its image as a PNG data URL", () => {
    const [m] = questionMessages(ITEMS[0]);
    const parts = m.content as { type: string; text?: string; image_url?: { url: string } }[];
    expect(parts[0]).toEqual({ type: "text", text: "what color is the square ?" });
    expect(parts[1].image_url!.url.startsWith("data:image/png;base64,iVBORw0KGgo")).toBe(true);
  });

  it("scores the engine's own answers, in order, with two requests in flight", async () => {
    const report = await evaluateApi(server!.url, ITEMS, { split: "test", concurrency: 2 });
    const model = await loadModel(new MemorySource(FILES), { kernels: kernelModule("relaxed") });
    const engine: string[] = [];
    for (const it of ITEMS)
      engine.push((await model.run(itemImage(it), it.question, { maxTokens: MAX_ANSWER_TOKENS })).text);
    expect(report.predictions).toEqual(engine);
    const want = score(
      ITEMS.map((it, i) => ({ family: it.family, answer: it.answer, prediction: engine[i] })),
    );
    expect(report.accuracy.mean).toBe(want.meanExact);
    expect(report.count).toBe(5);
    expect(Object.values(report.methods).reduce((a, b) => a + b, 0)).toBe(5);
    expect(report.visual_tokens.mean_fraction).toBeGreaterThan(0);
    expect(report.visual_tokens.mean_fraction).toBeLessThanOrEqual(1);
  }, 60_000);
});
