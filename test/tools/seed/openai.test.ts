// The running server as a client sees it: local R2 seeded by tools/seed, `wrangler dev` started as
// `npm start` does (tools/seed/dev.ts), and the official `openai` npm client calling it, non-streaming
// and streaming, with an API key, and a follow-up turn on the same image (its vision output cached); answers
// equal the engine's run directly in Node on the same pixels.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode } from "fast-png";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kernelModule } from "../../../tools/eval/node";
import { startSeededDevServer, type DevServer } from "../../../tools/seed/dev";
import { loadModel, MemorySource } from "../../../wasm/index";
import { tinyModelFiles } from "../../wasm/helpers/tiny";

const KEY = "sk-local-test";
const QUESTION = "what color is the square ?";
const FILES = tinyModelFiles("q8");
const PNG = readFileSync("test/fixtures/images/shapes.png");
const IMAGE_URL = `data:image/png;base64,${PNG.toString("base64")}`;

const root = mkdtempSync(join(tmpdir(), "atp-openai-"));
let server: DevServer | undefined;

beforeAll(async () => {
  const weights = join(root, "weights");
  mkdirSync(weights);
  for (const [k, v] of FILES) writeFileSync(join(weights, k), v);
  server = await startSeededDevServer({ weightsDir: weights, vars: { API_KEY: KEY } });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

async function engineAnswer(maxTokens: number, question = QUESTION): Promise<string> {
  const model = await loadModel(new MemorySource(FILES), { kernels: kernelModule("relaxed") });
  const png = decode(PNG);
  const image = { data: png.data as Uint8Array, width: png.width, height: png.height, channels: 3 as const };
  return (await model.run(image, question, { maxTokens })).text;
}

const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
  {
    role: "user",
    content: [
      { type: "text", text: QUESTION },
      { type: "image_url", image_url: { url: IMAGE_URL } },
    ],
  },
];

describe("the openai client against wrangler dev", () => {
  it("gets the engine's answer, non-streaming", async () => {
    const client = new OpenAI({ baseURL: `${server!.url}/v1`, apiKey: KEY });
    const res = await client.chat.completions.create({ model: "atp-tiny", messages, max_tokens: 10 });
    expect(res.choices[0].message.content).toBe(await engineAnswer(10));
    expect(res.usage?.completion_tokens).toBeGreaterThan(0);
    const atp = (res as unknown as { atp: { visual_tokens: { total: number } } }).atp;
    expect(atp.visual_tokens.total).toBe(16);
  }, 60_000);

  it("gets the same answer streamed, chunk by chunk", async () => {
    const client = new OpenAI({ baseURL: `${server!.url}/v1`, apiKey: KEY });
    const stream = await client.chat.completions.create({
      model: "atp-tiny",
      messages,
      max_tokens: 10,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let contentChunks = 0;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (c?.delta.content) {
        text += c.delta.content;
        contentChunks++;
      }
      if (c?.finish_reason) finish = c.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(await engineAnswer(10));
    expect(contentChunks).toBe(usage?.completion_tokens);
    expect(finish).toMatch(/^(stop|length)$/);
  }, 60_000);

  it("answers a follow-up turn from the image's cached vision output, as the engine does afresh", async () => {
    const client = new OpenAI({ baseURL: `${server!.url}/v1`, apiKey: KEY });
    const first = await client.chat.completions.create({ model: "atp-tiny", messages, max_tokens: 10 });
    const followUp = "what color is red ?";
    const res = await client.chat.completions.create({
      model: "atp-tiny",
      messages: [
        ...messages,
        { role: "assistant", content: first.choices[0].message.content },
        { role: "user", content: followUp },
      ],
      max_tokens: 10,
    });
    expect(res.choices[0].message.content).toBe(await engineAnswer(10, followUp));
    expect((res as unknown as { atp: { vision_cached: boolean } }).atp.vision_cached).toBe(true);
  }, 60_000);

  it("is refused without the right key", async () => {
    const client = new OpenAI({ baseURL: `${server!.url}/v1`, apiKey: "wrong", maxRetries: 0 });
    await expect(client.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    expect((await fetch(`${server!.url}/health`)).status).toBe(200);
  }, 60_000);
});
