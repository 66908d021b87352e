// The R2 weight store: one load per isolate even when requests arrive together, kept across requests;
// missing or corrupt weights answer 503 with a clear error, nothing half-loaded stays, the next request
// retries and succeeds once the bucket is fixed.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../worker/errors";
import { modelStore, ModelStore } from "../../worker/store";
import type { Model } from "../../wasm/index";
import { call, chatBody, IMAGES, seedWeights, WEIGHT_FILES } from "./helpers/api";

const shardKey = [...WEIGHT_FILES.keys()].find((k) => k.endsWith(".bin"))!;
const bucket = {} as R2Bucket;

describe("ModelStore", () => {
  it("shares one load between concurrent callers and keeps the model", async () => {
    let opens = 0;
    const model = {} as Model;
    const store = new ModelStore(async () => {
      opens++;
      await scheduler.wait(5);
      return { model, etag: null };
    });
    expect(store.state).toBe("empty");
    const got = await Promise.all([store.get(bucket), store.get(bucket), store.get(bucket)]);
    expect(got.every((m) => m === model)).toBe(true);
    expect(await store.get(bucket)).toBe(model);
    expect({ opens, loads: store.loads, state: store.state }).toEqual({ opens: 1, loads: 1, state: "ready" });
  });

  it("turns a failed load into 503 for every waiter and retries on the next call", async () => {
    let fail = true;
    const store = new ModelStore(async () => {
      await scheduler.wait(1);
      if (fail) throw new Error("weights: shard-00000.bin is missing from the weight source");
      return { model: {} as Model, etag: null };
    });
    const results = await Promise.allSettled([store.get(bucket), store.get(bucket)]);
    for (const r of results) {
      expect(r.status).toBe("rejected");
      const err = (r as PromiseRejectedResult).reason as ApiError;
      expect(err).toBeInstanceOf(ApiError);
      expect(err.status).toBe(503);
      expect(err.message).toMatch(/shard-00000.bin is missing/);
    }
    expect(store.state).toBe("empty");
    fail = false;
    await expect(store.get(bucket)).resolves.toBeDefined();
    expect(store.loads).toBe(2);
  });
});

describe("weights from R2 through the API", () => {
  it("loads once for concurrent first requests", async () => {
    await seedWeights();
    const health0 = (await (await call("/health")).json()) as { weights: string };
    expect(health0.weights).toBe("empty");
    const res = await Promise.all(
      [0, 1, 2].map(() =>
        call("/v1/chat/completions", chatBody(IMAGES["shapes.png"], undefined, { max_tokens: 2 })),
      ),
    );
    expect(res.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(modelStore.loads).toBe(1);
    await call("/v1/chat/completions", chatBody(IMAGES["shapes.jpg"], undefined, { max_tokens: 2 }));
    expect(modelStore.loads).toBe(1);
    const health = (await (await call("/health")).json()) as { weights: string };
    expect(health.weights).toBe("ready");
  });

  it("503 while a shard is missing or corrupt or the manifest is gone; recovers once fixed", async () => {
    const cases: [string, Map<string, Uint8Array>, RegExp][] = [
      ["missing shard", new Map([...WEIGHT_FILES].filter(([k]) => k !== shardKey)), /missing/],
      [
        "corrupt shard",
        new Map(
          [...WEIGHT_FILES].map(([k, v]) => [k, k === shardKey ? v.map((b, i) => (i === 7 ? b ^ 1 : b)) : v]),
        ),
        /sha256/,
      ],
      [
        "no manifest",
        new Map([...WEIGHT_FILES].filter(([k]) => k !== "manifest.json")),
        /manifest\.json is missing/,
      ],
    ];
    for (const [what, files, message] of cases) {
      await seedWeights(files);
      const res = await call(
        "/v1/chat/completions",
        chatBody(IMAGES["shapes.png"], undefined, { max_tokens: 2 }),
      );
      const body = (await res.json()) as { error: { message: string; code: string } };
      expect({ what, status: res.status, code: body.error.code }).toEqual({
        what,
        status: 503,
        code: "weights_unavailable",
      });
      expect(body.error.message).toMatch(message);
      expect(res.headers.get("Retry-After")).toBe("1");
      expect(modelStore.state).toBe("empty"); // nothing half-loaded kept
      await Promise.all([...WEIGHT_FILES].map(([k, v]) => env.WEIGHTS.put(k, v)));
      const retry = await call(
        "/v1/chat/completions",
        chatBody(IMAGES["shapes.png"], undefined, { max_tokens: 2 }),
      );
      expect(retry.status).toBe(200);
      expect(modelStore.loads).toBe(2);
    }
  });
});
