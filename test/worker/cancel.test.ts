// A client that disconnects stops the generation before the engine's next step: for a stream, the
// Worker's write rejects; for a plain request, request.signal fires (enable_request_signal). The model is
// free for the next request afterwards.
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { recentOutcomes } from "../../worker/serve/request";
import { modelStore } from "../../worker/store";
import { call, chatBody, IMAGES, seedWeights } from "./helpers/api";

/** The tiny model's context allows 41 tokens after this prompt; the random weights rarely stop early. */
const LONG = 40;

async function lastOutcome(route: string) {
  for (let i = 0; i < 200; i++) {
    const o = recentOutcomes.findLast((r) => r.route === route);
    if (o) return o;
    await scheduler.wait(5);
  }
  throw new Error(`no outcome logged for ${route}`);
}

beforeAll(() => seedWeights());

describe("client disconnect", () => {
  it("stops a stream after the client cancels it", async () => {
    recentOutcomes.length = 0;
    const full = await call(
      "/v1/chat/completions",
      chatBody(IMAGES["photo.jpg"], undefined, { max_tokens: LONG }),
    );
    const fullTokens = ((await full.json()) as { usage: { completion_tokens: number } }).usage
      .completion_tokens;
    expect(fullTokens).toBeGreaterThan(10);

    const res = await call(
      "/v1/chat/completions",
      chatBody(IMAGES["photo.jpg"], undefined, { max_tokens: LONG, stream: true }),
    );
    const reader = res.body!.getReader();
    await reader.read(); // the role chunk
    await reader.read(); // the first token
    await reader.cancel();
    const o = await lastOutcome("chat.stream");
    expect(o.stoppedBy).toBe("cancelled");
    expect(o.tokens).toBeLessThan(fullTokens);
    expect(
      (await call("/v1/chat/completions", chatBody(IMAGES["photo.jpg"], undefined, { max_tokens: 2 })))
        .status,
    ).toBe(200);
  });

  it("stops a plain request when its signal aborts, and frees the model", async () => {
    await call("/v1/chat/completions", chatBody(IMAGES["photo.jpg"], undefined, { max_tokens: 1 })); // warm
    recentOutcomes.length = 0;
    const abort = new AbortController();
    const pending = exports.default
      .fetch("http://localhost/v1/chat/completions", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(chatBody(IMAGES["photo.jpg"], undefined, { max_tokens: LONG })),
        signal: abort.signal,
      })
      .catch((err: Error) => err);
    const model = await modelStore.get(env.WEIGHTS);
    while (model.queue.length === 0) await scheduler.wait(0); // generation under way
    abort.abort();
    expect(await pending).toBeInstanceOf(Error);
    const o = await lastOutcome("chat");
    expect(o.stoppedBy).toBe("cancelled");
    expect(o.tokens).toBeLessThan(LONG);
    const next = await call(
      "/v1/chat/completions",
      chatBody(IMAGES["photo.jpg"], undefined, { max_tokens: 2 }),
    );
    expect(next.status).toBe(200);
  });
});
