// Hostile strings in every field the metrics store keeps and the dashboard shows. Through the API none
// can get there: prompts and answers are not stored, the method is one of the registry's names, the
// route, model and stop reason are the Worker's own; so this writes records straight into the store, as
// a compromised or buggy writer would, and checks that they come back as the same strings (JSON), that
// they change no query's meaning (SQL parameters), and that hostile query parameters are refused.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { metricsStore } from "../../worker/metrics/store";
import type { MetricsRecord } from "../../worker/metrics/record";
import { call, chatBody, IMAGES, seedWeights } from "./helpers/api";

export const HOSTILE = [
  "<script>window.__pwned=1</script>",
  '"><img src=x onerror="window.__pwned=2">',
  "'); DROP TABLE requests; --",
  "atp' OR '1'='1",
  "\u202e\u0000\ud83d",
  "__proto__",
  "constructor",
];

interface Report {
  count: number;
  methods: Record<string, number>;
  requests: { id: number; method: string; route: string; model: string; stopped_by: string }[];
}

beforeAll(() => seedWeights());

describe("hostile strings in the metrics store", () => {
  it("come back unchanged as JSON strings and change no query's meaning", async () => {
    const r = await call(
      "/v1/chat/completions",
      chatBody(IMAGES["shapes.png"], undefined, { max_tokens: 2 }),
    );
    expect(r.status).toBe(200);
    const before = (await (await call("/v1/metrics?window=3600&limit=200")).json()) as Report;
    const base = before.requests[0];
    const detail = (await (await call(`/v1/metrics/requests/${base.id}`)).json()) as MetricsRecord;
    const store = metricsStore(env);
    for (const h of HOSTILE) {
      await store.record({
        ...detail,
        ts: Date.now(),
        method: h,
        route: h,
        model: h,
        stopped_by: h,
        thumb: null,
      });
    }
    const after = (await (await call("/v1/metrics?window=3600&limit=200")).json()) as Report;
    expect(after.count).toBe(before.count + HOSTILE.length); // the injected SQL dropped nothing
    const fresh = after.requests.slice(0, HOSTILE.length).reverse();
    expect(fresh.map((q) => q.method)).toEqual(HOSTILE);
    expect(fresh.map((q) => q.route)).toEqual(HOSTILE);
    expect(fresh.map((q) => q.stopped_by)).toEqual(HOSTILE);
    for (const h of HOSTILE) expect(Object.hasOwn(after.methods, h) && after.methods[h]).toBe(1);
    // a hostile method filter is refused, not spliced into the query
    for (const h of HOSTILE) {
      const res = await call(
        `/v1/metrics?method=${encodeURIComponent(h.replace(/[\ud800-\udfff]/g, "\ufffd"))}`,
      );
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { param: "method" } });
    }
    const res = await call(`/v1/metrics?window=${encodeURIComponent("1; DELETE FROM requests")}`);
    expect(res.status).toBe(400);
    expect(((await (await call("/v1/metrics?window=3600&limit=0")).json()) as Report).count).toBe(
      after.count,
    );
  });
});
