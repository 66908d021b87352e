// Faults, each in workerd through the app: R2 reads of one object that throw, return null, a truncated or
// altered body, or stall past the read limit, during a cold load with requests waiting on it -> 503 with
// Retry-After for every one of them, nothing half-loaded kept, and the first request after the fault
// clears loads cleanly and answers as before; the metrics Durable Object throwing or stalling -> answers
// unaffected, the failure counted, /v1/metrics 503; a new manifest uploaded while requests run -> every
// answer comes from one complete model, the old or the new.
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import app from "../../worker/index";
import { modelStore } from "../../worker/store";
import { loadModel, MemorySource } from "../../wasm/index";
import { BUILDS } from "../helpers/kernels";
import { tinyModelFiles } from "../wasm/helpers/tiny";
import { chatBody, fixturePixels, IMAGES, QUESTION, seedWeights, WEIGHT_FILES } from "./helpers/api";

type Fault = "throw" | "null" | "truncated" | "altered" | "stall";
const FAULTS: Fault[] = ["throw", "null", "truncated", "altered", "stall"];
const SHARDS = [...WEIGHT_FILES.keys()].filter((k) => k.endsWith(".bin")).sort();

/** The WEIGHTS bucket with one fault on one key. */
function faulty(bucket: R2Bucket, key: string, fault: Fault): R2Bucket {
  const get = async (k: string) => {
    if (k !== key) return bucket.get(k);
    if (fault === "throw") throw new Error("R2: internal error (injected)");
    if (fault === "null") return null;
    if (fault === "stall") return new Promise<never>(() => {});
    const obj = (await bucket.get(k))!;
    const bytes = new Uint8Array(await obj.arrayBuffer());
    const body =
      fault === "truncated"
        ? bytes.slice(0, bytes.length >> 1)
        : bytes.map((b, i) => (i === 9 ? b ^ 0x40 : b));
    return {
      etag: obj.etag,
      arrayBuffer: async () => body.buffer,
      body: new Blob([body]).stream(),
    } as unknown as R2ObjectBody;
  };
  return { get, head: (k: string) => bucket.head(k) } as unknown as R2Bucket;
}

const ask = (e: object, extra: Record<string, unknown> = {}) =>
  app.fetch(
    new Request("http://localhost/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(chatBody(IMAGES["shapes.png"], QUESTION, { max_tokens: 6, ...extra })),
    }),
    e,
  );

const content = async (r: Response) =>
  ((await r.json()) as { choices: { message: { content: string } }[] }).choices[0].message.content;

let solo = "";
beforeAll(async () => {
  await seedWeights();
  const r = await ask(env);
  expect(r.status).toBe(200);
  solo = await content(r);
});
afterEach(() => modelStore.reset());

describe("R2 faults during a cold load", () => {
  for (const fault of FAULTS) {
    for (const key of ["manifest.json", SHARDS[0], SHARDS[SHARDS.length - 1]]) {
      it(`${fault} on ${key}: 503 with Retry-After for all 4 waiting requests, then a clean load`, async () => {
        modelStore.reset();
        modelStore.timeoutMs = 100;
        const bad = { ...env, WEIGHTS: faulty(env.WEIGHTS, key, fault) };
        const replies = await Promise.all([0, 1, 2, 3].map(() => ask(bad)));
        for (const r of replies) {
          expect(r.status).toBe(503);
          expect(Number(r.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
          const body = (await r.json()) as { error: { code: string; message: string } };
          expect(body.error.code).toBe("weights_unavailable");
          expect(body.error.message).toContain(key);
        }
        // a load in progress is shared; one that failed at once is retried by the requests after it
        if (fault === "stall") expect(modelStore.loads).toBe(1);
        else expect(modelStore.loads).toBeLessThanOrEqual(4);
        const loads = modelStore.loads;
        expect(modelStore.state).toBe("empty"); // nothing half-loaded kept
        const ok = await ask(env);
        expect(ok.status).toBe(200);
        expect(await content(ok)).toBe(solo);
        expect(modelStore.loads).toBe(loads + 1);
      });
    }
  }
});

describe("metrics store faults", () => {
  const failing = (how: "throw" | "stall") => {
    const stub = {
      record: () =>
        how === "throw" ? Promise.reject(new Error("DO: overloaded (injected)")) : new Promise(() => {}),
      query: () =>
        how === "throw" ? Promise.reject(new Error("DO: overloaded (injected)")) : new Promise(() => {}),
      request: () =>
        how === "throw" ? Promise.reject(new Error("DO: overloaded (injected)")) : new Promise(() => {}),
    };
    return { idFromName: () => ({}), get: () => stub } as unknown as DurableObjectNamespace;
  };

  for (const how of ["throw", "stall"] as const) {
    it(`a metrics store that ${how}s: answers unaffected, the failure counted, /v1/metrics 503`, async () => {
      const e = { ...env, METRICS: failing(how) };
      const before = (await (await app.fetch(new Request("http://localhost/health"), env)).json()) as {
        metrics_store_failures: { writes: number; reads: number };
      };
      const replies = await Promise.all([0, 1, 2].map(() => ask(e)));
      for (const r of replies) {
        expect(r.status).toBe(200);
        expect(await content(r)).toBe(solo);
      }
      const metrics = await app.fetch(new Request("http://localhost/v1/metrics"), e);
      expect(metrics.status).toBe(503);
      expect(await metrics.json()).toMatchObject({ error: { code: "metrics_unavailable" } });
      // the writes fail after the responses (a stalled one at the store's time limit)
      let after = before;
      for (
        let i = 0;
        i < 800 && after.metrics_store_failures.writes < before.metrics_store_failures.writes + 3;
        i++
      ) {
        await scheduler.wait(10);
        after = (await (
          await app.fetch(new Request("http://localhost/health"), env)
        ).json()) as typeof before;
      }
      expect(after.metrics_store_failures.writes).toBe(before.metrics_store_failures.writes + 3);
      expect(after.metrics_store_failures.reads).toBe(before.metrics_store_failures.reads + 1);
    }, 20_000);
  }
});

describe("a new manifest uploaded while requests run", () => {
  const relaxed = BUILDS.find((b) => b.name === "relaxed") ?? BUILDS[0];
  const NEW_FILES = tinyModelFiles("q8", 2);

  for (const order of ["shards first (the deploy order)", "manifest first"] as const) {
    it(`${order}: each answer is the old model's or the new one's, then the new one's`, async () => {
      await seedWeights();
      const newModel = await loadModel(new MemorySource(NEW_FILES), { kernels: relaxed.module });
      const newAnswer = (await newModel.run(fixturePixels("shapes.png"), QUESTION, { maxTokens: 6 })).text;
      expect(newAnswer).not.toBe(solo);
      expect(await content(await ask(env))).toBe(solo);
      modelStore.checkMs = 0; // look at the manifest on every request
      const keys = [...NEW_FILES.keys()].sort((a, b) =>
        order === "manifest first"
          ? Number(b === "manifest.json") - Number(a === "manifest.json")
          : Number(a === "manifest.json") - Number(b === "manifest.json"),
      );
      let uploading = true;
      const upload = (async () => {
        for (const k of keys) {
          await env.WEIGHTS.put(k, NEW_FILES.get(k)!);
          await scheduler.wait(3);
        }
        uploading = false;
      })();
      const seen: string[] = [];
      const statuses: number[] = [];
      const client = async () => {
        while (uploading || seen.length < 24) {
          const r = await ask(env);
          statuses.push(r.status);
          if (r.status === 200) seen.push(await content(r));
        }
      };
      await Promise.all([upload, client(), client(), client()]);
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(seen.every((a) => a === solo || a === newAnswer)).toBe(true);
      for (let i = 0; i < 50 && modelStore.swaps === 0; i++) {
        await ask(env);
        await scheduler.wait(5);
      }
      expect(modelStore.swaps).toBe(1);
      expect(await content(await ask(env))).toBe(newAnswer);
    }, 30_000);
  }
});
