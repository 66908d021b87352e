// The isolate's queue through the API: requests served in arrival order; beyond MAX_QUEUED_REQUESTS
// waiting, or when the queue cannot finish a request before its deadline, an immediate 503 `overloaded`
// with a Retry-After from the queue's predicted drain time; every answer given equals the answer the same
// request gets alone; a generation dropped midway does not keep the model from the next request.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { fixturePixels, call, chatBody, IMAGES, seedWeights, QUESTION } from "./helpers/api";
import { encode } from "fast-png";
import { MAX_QUEUED_IMAGE_BYTES, MAX_QUEUED_REQUESTS } from "../../worker/limits";
import { modelStore } from "../../worker/store";

interface Completion {
  choices: { message: { content: string } }[];
}
interface ErrorReply {
  error: { message: string; code: string; type: string };
}

const ask = (max_tokens: number, extra: Record<string, unknown> = {}) =>
  call("/v1/chat/completions", chatBody(IMAGES["shapes.png"], QUESTION, { max_tokens, ...extra }));

beforeAll(async () => {
  await seedWeights();
  expect((await ask(2)).status).toBe(200); // loaded, and the queue has a mean hold
});

describe("the model's queue in the Worker", () => {
  it("answers concurrent requests in the order they arrived", async () => {
    const finished: number[] = [];
    const pending = [];
    for (let i = 0; i < 6; i++) {
      pending.push(
        ask(12).then(async (r) => {
          expect(r.status).toBe(200);
          await r.json();
          finished.push(i);
        }),
      );
      await scheduler.wait(1); // a defined arrival order
    }
    await Promise.all(pending);
    expect(finished).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("refuses beyond the queue's depth with 503 overloaded and a computed Retry-After; the rest answer as alone", async () => {
    const solo = ((await (await ask(16)).json()) as Completion).choices[0].message.content;
    const n = MAX_QUEUED_REQUESTS + 8;
    const replies = await Promise.all(Array.from({ length: n }, () => ask(16)));
    const statuses = replies.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    const refused = replies.filter((r) => r.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(MAX_QUEUED_REQUESTS);
    for (const r of refused) {
      const retry = Number(r.headers.get("Retry-After"));
      expect(Number.isInteger(retry) && retry >= 1).toBe(true);
      // the predicted drain time, also in ms for clients that read it (OpenAI's do)
      const retryMs = Number(r.headers.get("retry-after-ms"));
      expect(retryMs).toBeGreaterThan(0);
      expect(retry).toBe(Math.max(1, Math.ceil(retryMs / 1000)));
      const body = (await r.json()) as ErrorReply;
      expect(body.error).toMatchObject({ code: "overloaded", type: "service_unavailable" });
      expect(body.error.message).toMatch(/requests are waiting/);
    }
    for (const r of replies.filter((x) => x.status === 200)) {
      expect(((await r.json()) as Completion).choices[0].message.content).toBe(solo);
    }
  });

  it("refuses a request whose decoded image would take the queued images past their memory bound", async () => {
    const side = 2048; // 2048 x 2048 RGB: 12 MB decoded from a PNG of a few KB
    // four different images (a follow-up on one already seen would hold no pixels: its vision output is
    // cached, test/worker/vision-cache.test.ts)
    const url = (fill: number) => {
      const png = encode({
        width: side,
        height: side,
        data: new Uint8Array(side * side * 3).fill(fill),
        channels: 3,
      });
      return `data:image/png;base64,${btoa(Array.from(png, (b) => String.fromCharCode(b)).join(""))}`;
    };
    const urls = [90, 91, 92, 93].map(url);
    const replies = await Promise.all(
      urls.map((u) => call("/v1/chat/completions", chatBody(u, QUESTION, { max_tokens: 2 }))),
    );
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(
      Math.floor(MAX_QUEUED_IMAGE_BYTES / (side * side * 3)),
    );
    const refused = replies.filter((r) => r.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused)
      expect(((await r.json()) as ErrorReply).error.message).toMatch(/images already take \d+ MB/);
  });

  it("refuses at once a request whose deadline the queue ahead would pass", async () => {
    const model = await modelStore.get(env.WEIGHTS);
    const busy = Array.from({ length: 4 }, () => ask(30));
    await scheduler.wait(1);
    expect(model.queue.length).toBeGreaterThan(1);
    const t0 = performance.now();
    const r = await ask(4, { atp: { deadline_ms: Math.max(1, Math.floor(model.queue.holdMs)) } });
    expect(r.status).toBe(503);
    expect(((await r.json()) as ErrorReply).error.message).toMatch(/past its \d+ ms deadline/);
    expect(performance.now() - t0).toBeLessThan(model.queue.holdMs * 2 + 50); // not after waiting
    for (const b of await Promise.all(busy)) expect(b.status).toBe(200);
  });

  it("serves the next request after a generation is dropped midway (its code never runs again)", async () => {
    const model = await modelStore.get(env.WEIGHTS);
    const lease = model.queue.leaseMs;
    model.queue.leaseMs = 100;
    try {
      const dropped = model.generate(fixturePixels("shapes.png"), QUESTION, { maxTokens: 20 });
      await dropped.next(); // holds the model, then is never resumed
      const before = model.queue.dropped;
      const r = await ask(4);
      expect(r.status).toBe(200);
      expect(model.queue.dropped).toBe(before + 1);
      expect(model.queue.length).toBe(0);
    } finally {
      model.queue.leaseMs = lease;
    }
  });
});
