// POST /v1/chat/completions end to end through the Worker in workerd, weights from Miniflare's R2: answers
// equal the engine's on the same pixels (PNG, JPEG, a photo), the OpenAI response and SSE framing, usage,
// the `atp` extension (method, deadline, per-layer visual tokens) and max_tokens.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import relaxedModule from "../../wasm/build/kernels.relaxed.wasm";
import {
  createPolicy,
  loadModel,
  MemorySource,
  METHODS,
  type MethodName,
  type PolicyKnobs,
} from "../../wasm/index";
import { TINY_ATP_CONFIG, tinyModelFiles } from "../wasm/helpers/tiny";
import {
  call,
  chatBody,
  fixturePixels,
  IMAGES,
  parseSse,
  QUESTION,
  referenceModel,
  seedWeights,
} from "./helpers/api";

interface Completion {
  id: string;
  object: string;
  model: string;
  choices: { index: number; message: { role: string; content: string }; finish_reason: string }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  atp: {
    method: string;
    deadline_ms: number;
    deadline_hit: boolean;
    stopped_by: string;
    visual_tokens: { per_layer: number[]; total: number; mean_fraction: number; input_fraction: number };
    kv_fraction: number;
    timings: { ttft_ms: number; prefill_ms: number };
  };
}

interface Chunk {
  id: string;
  object: string;
  choices: { delta: { role?: string; content?: string }; finish_reason: string | null }[];
  atp?: Completion["atp"];
  usage?: Completion["usage"];
}

beforeAll(() => seedWeights());

describe("POST /v1/chat/completions", () => {
  for (const name of ["shapes.png", "shapes.jpg", "photo.jpg"]) {
    it(`answers about ${name} exactly as the engine does`, async () => {
      const res = await call("/v1/chat/completions", chatBody(IMAGES[name], QUESTION, { max_tokens: 12 }));
      expect(res.status).toBe(200);
      const body = (await res.json()) as Completion;
      const ref = await (await referenceModel()).run(fixturePixels(name), QUESTION, { maxTokens: 12 });
      expect(body.choices[0].message).toMatchObject({ role: "assistant", content: ref.text });
      expect(body.choices[0].finish_reason).toBe(ref.stats.finishReason);
      expect(body.usage).toEqual({
        prompt_tokens: ref.stats.promptTokens,
        completion_tokens: ref.ids.length,
        total_tokens: ref.stats.promptTokens + ref.ids.length,
      });
      expect(body).toMatchObject({ object: "chat.completion", model: "atp-tiny" });
      expect(body.id).toMatch(/^chatcmpl-/);
      expect(body.atp.method).toBe("none");
      expect(body.atp.visual_tokens.per_layer).toEqual(ref.stats.visualTokens.perLayer);
      expect(body.atp.visual_tokens.total).toBe(16);
    });
  }

  it("streams one SSE chunk per token, then the stats and [DONE]", async () => {
    const res = await call(
      "/v1/chat/completions",
      chatBody(IMAGES["shapes.png"], QUESTION, {
        max_tokens: 12,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    const events = parseSse(await res.text());
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Chunk);
    const ref = await (await referenceModel()).run(fixturePixels("shapes.png"), QUESTION, { maxTokens: 12 });
    const deltas = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? ""));
    expect(deltas.join("")).toBe(ref.text);
    // role chunk + one per token + final chunk + usage chunk
    expect(chunks.length).toBe(1 + ref.ids.length + 2);
    expect(chunks[0]).toMatchObject({
      object: "chat.completion.chunk",
      choices: [{ delta: { role: "assistant" } }],
    });
    const ids = new Set(chunks.map((c) => c.id));
    expect(ids.size).toBe(1);
    const final = chunks.at(-2)!;
    expect(final.choices[0].finish_reason).toBe(ref.stats.finishReason);
    expect(final.atp!.visual_tokens.per_layer).toEqual(ref.stats.visualTokens.perLayer);
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: ref.stats.promptTokens, completion_tokens: ref.ids.length },
    });
  });

  it("stops at the deadline with finish_reason length and says so", async () => {
    const res = await call(
      "/v1/chat/completions",
      chatBody(IMAGES["shapes.png"], QUESTION, { max_tokens: 30, atp: { deadline_ms: 0 } }),
    );
    const body = (await res.json()) as Completion;
    expect(res.status).toBe(200);
    expect(body.usage.completion_tokens).toBe(1);
    expect(body.choices[0].finish_reason).toBe("length");
    expect(body.atp).toMatchObject({ deadline_ms: 0, deadline_hit: true, stopped_by: "deadline" });
  });

  it("runs every pruning method of the engine as the engine does, knobs passed through", async () => {
    const model = await referenceModel();
    const image = fixturePixels("shapes.png");
    const cases: [MethodName, PolicyKnobs][] = METHODS.filter((m) => m !== "atp").map((m) => [m, {}]);
    cases.push(["fastv", { k: 1, ratio: 0.75 }], ["grid", { layer: 1, tokens: 4 }]);
    for (const [method, knobs] of cases) {
      const res = await call(
        "/v1/chat/completions",
        chatBody(IMAGES["shapes.png"], QUESTION, { max_tokens: 6, atp: { method, knobs } }),
      );
      expect({ method, status: res.status }).toEqual({ method, status: 200 });
      const body = (await res.json()) as Completion;
      const ref = await model.run(image, QUESTION, { maxTokens: 6, policy: createPolicy(method, knobs) });
      expect(body.atp.method).toBe(method);
      expect(body.atp.visual_tokens.per_layer).toEqual(ref.stats.visualTokens.perLayer);
      expect(body.atp.visual_tokens.input_fraction).toBe(ref.stats.visualTokens.inputFraction);
      expect(body.atp.kv_fraction).toBe(ref.stats.kvFraction);
      expect(body.choices[0].message.content).toBe(ref.text);
    }
  });

  it("400 for ATP on a model without ATP modules and for knobs the method refuses, naming the knob", async () => {
    const atp = await call(
      "/v1/chat/completions",
      chatBody(IMAGES["shapes.png"], QUESTION, { atp: { method: "atp" } }),
    );
    expect(atp.status).toBe(400);
    expect(await atp.json()).toMatchObject({ error: { code: "method_unavailable", param: "atp.method" } });
    const refused: [object, string, RegExp][] = [
      [
        { method: "fastv", knobs: { ratio: 2 } },
        "atp.knobs.ratio",
        /knob 'ratio' must be a number in \[0, 1\)/,
      ],
      [{ method: "grid", knobs: { ratio: 0.5 } }, "atp.knobs.ratio", /grid has no knob 'ratio'/],
      [{ method: "fastv", budget: 1 }, "atp.budget", /fastv has no knob 'budget'/],
    ];
    for (const [atp, param, message] of refused) {
      const bad = await call("/v1/chat/completions", chatBody(IMAGES["shapes.png"], QUESTION, { atp }));
      expect(bad.status).toBe(400);
      const body = (await bad.json()) as { error: { code: string; param: string; message: string } };
      expect(body.error).toMatchObject({ code: "invalid_atp_options", param });
      expect(body.error.message).toMatch(message);
    }
  });

  it("honours max_tokens and max_completion_tokens", async () => {
    for (const field of ["max_tokens", "max_completion_tokens"]) {
      const res = await call(
        "/v1/chat/completions",
        chatBody(IMAGES["shapes.png"], QUESTION, { [field]: 1 }),
      );
      const body = (await res.json()) as Completion;
      expect(body.usage.completion_tokens).toBeLessThanOrEqual(1);
    }
  });

  it("takes a gray PNG and a text-only question as a plain string message", async () => {
    const res = await call("/v1/chat/completions", {
      messages: [
        { role: "system", content: "ignored" },
        { role: "user", content: [{ type: "image_url", image_url: IMAGES["gray.png"] }] },
        { role: "user", content: QUESTION },
      ],
      max_tokens: 4,
    });
    expect(res.status).toBe(200);
  });
});

describe("POST /v1/chat/completions on a model with ATP modules", () => {
  const files = tinyModelFiles("q8", 1, TINY_ATP_CONFIG);
  beforeAll(() => seedWeights(files));
  afterAll(() => seedWeights());

  it("prunes with `atp` when the request names no method, as the engine does, and honours the budget", async () => {
    const model = await loadModel(new MemorySource(files), { kernels: relaxedModule });
    const image = fixturePixels("shapes.png");
    const kept: number[] = [];
    for (const atp of [undefined, { budget: -2 }, { method: "none" }]) {
      const res = await call(
        "/v1/chat/completions",
        chatBody(IMAGES["shapes.png"], QUESTION, { max_tokens: 4, ...(atp ? { atp } : {}) }),
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as Completion;
      const method = atp?.method ?? "atp";
      const ref = await model.run(image, QUESTION, {
        maxTokens: 4,
        policy: createPolicy(method as MethodName, { budget: atp?.budget }),
      });
      expect(body.atp.method).toBe(method);
      expect(body.atp.visual_tokens.per_layer).toEqual(ref.stats.visualTokens.perLayer);
      expect(body.choices[0].message.content).toBe(ref.text);
      kept.push(body.atp.visual_tokens.per_layer.reduce((a, b) => a + b, 0));
    }
    expect(kept[0]).toBeLessThan(kept[2]); // atp pruned
    expect(kept[1]).toBeLessThanOrEqual(kept[0]); // a lower budget keeps no more
  });
});
