// A model split across Workers under `wrangler dev` (docs/split.md): vision and layers 4-7 of the served
// model each in a stage Worker (its own Durable Object), layers 0-3 in the front door itself ("@"), configs
// from tools/split/config.ts. Through the API, every answer equals the single-process
// engine's in Node (same tokens, same visual tokens per layer), streamed or not, for each kind of method;
// and the response reports what crossed between the stages.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPolicy, loadModel, type Model } from "../../wasm/index";
import { FileSource, kernelModule } from "../../tools/eval/node";
import { startDevServer, type DevServer } from "../../tools/seed/dev";
import { seedLocalR2 } from "../../tools/seed/seed";
import { writeSplitConfigs } from "../../tools/split/config";
import { decodePng } from "../../worker/image/png";

const SPLIT = "vision|@0-3|4-7";
const root = mkdtempSync(join(tmpdir(), "atp-split-"));
let server: DevServer | undefined;
let reference: Model;

beforeAll(async () => {
  const persistTo = join(root, "state");
  await seedLocalR2({ weightsDir: "weights", persistTo, configPath: "wrangler.toml" });
  const cfg = writeSplitConfigs(SPLIT);
  server = await startDevServer({
    persistTo,
    configPath: cfg.front,
    alsoConfigs: cfg.stages,
    timeoutMs: 120_000,
  });
  reference = await loadModel(new FileSource("weights"), { kernels: kernelModule("relaxed") });
}, 180_000);

afterAll(async () => {
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

const IMAGES = ["shapes.png", "gray.png"];

/** The pixels the Worker decodes from a PNG fixture (the same decoder). */
async function pixelsOf(image: string) {
  const bytes = new Uint8Array(readFileSync(`test/fixtures/images/${image}`));
  return decodePng(bytes);
}
const QUESTIONS = ["what color is the circle ?", "describe the image ."];

async function ask(image: string, question: string, atp: object, stream = false) {
  const png = readFileSync(`test/fixtures/images/${image}`).toString("base64");
  const r = await fetch(`${server!.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      max_tokens: 12,
      stream,
      atp,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: question },
            { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } },
          ],
        },
      ],
    }),
  });
  expect(r.status, await r.clone().text()).toBe(200);
  return r;
}

describe("a model split across Workers", () => {
  it.each([
    ["none", {}],
    ["atp", {}],
    ["divprune", { tokens: 36 }],
    ["dart", {}],
  ])(
    "%s: the split answers as the single-process engine",
    async (method, knobs) => {
      for (const image of IMAGES) {
        for (const question of QUESTIONS) {
          const j = (await (await ask(image, question, { method, knobs })).json()) as {
            choices: { message: { content: string } }[];
            atp: { visual_tokens: { per_layer: number[] }; split: { stages: number; bytes_moved: number } };
          };
          const pixels = await pixelsOf(image);
          const ref = await reference.run(pixels, question, {
            maxTokens: 12,
            policy: createPolicy(method as never, knobs),
          });
          expect(j.choices[0].message.content, `${method} ${image} ${question}`).toBe(ref.text);
          expect(j.atp.visual_tokens.per_layer).toEqual(ref.stats.visualTokens.perLayer);
          expect(j.atp.split.stages).toBe(3);
          expect(j.atp.split.bytes_moved).toBeGreaterThan(144 * 192 * 4); // at least the visual tokens
        }
      }
    },
    120_000,
  );

  it("streams the split answer token by token", async () => {
    const r = await ask(IMAGES[0], QUESTIONS[1], { method: "atp" }, true);
    const text = await r.text();
    const pieces = text
      .split("\n")
      .filter((l) => l.startsWith("data: {"))
      .map(
        (l) =>
          (JSON.parse(l.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta
            ?.content ?? "",
      )
      .join("");
    const pixels = await pixelsOf(IMAGES[0]);
    const ref = await reference.run(pixels, QUESTIONS[1], { maxTokens: 12, policy: createPolicy("atp", {}) });
    expect(pieces).toBe(ref.text);
  }, 60_000);

  it("keeps its stages warm across an idle gap longer than the runtime's eviction (10 s)", async () => {
    const instances = async () => {
      const h = (await (await fetch(`${server!.url}/health`)).json()) as {
        memory: { stages: { part: string; instance?: string }[] };
      };
      return h.memory.stages.filter((s) => s.instance).map((s) => `${s.part}:${s.instance}`);
    };
    await ask(IMAGES[0], QUESTIONS[0], { method: "atp" }); // every stage loaded
    const before = await instances();
    expect(before.length).toBe(2); // vision and 4-7: the stage Workers (the "@" part has no object)
    await new Promise((r) => setTimeout(r, 13_000)); // no calls: only the keep-warm alarms
    expect(await instances()).toEqual(before); // same objects, weights still loaded
  }, 60_000);
});
