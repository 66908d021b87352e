// The front door of a split model in workerd (worker/split.ts, worker/store.ts): with SPLIT set, the app
// serves the model through the STAGE_i bindings -- here namespaces whose stubs are real Stages loaded
// from the same seeded weights (test/browser/split.test.ts runs real stage Workers under wrangler dev).
// The answer equals the single-isolate one; a stage whose part cannot load gives 503
// weights_unavailable, a stage busy with another request 503 overloaded, both with Retry-After; a part
// marked "@" is loaded in the front door's isolate.
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import app from "../../worker/index";
import { modelStore } from "../../worker/store";
import { loadStage, MemorySource, type Stage } from "../../wasm/index";
import { BUILDS } from "../helpers/kernels";
import { chatBody, IMAGES, QUESTION, seedWeights, WEIGHT_FILES } from "./helpers/api";

const SPLIT = "vision|0-1|2-2";

/** Sessions whose hold (StageObject.hold) is open, per namespace made below; a hold ends with end(). */
const openHolds: Set<string>[] = [];
/** For each prefill and decode call: whether its session's hold was open. */
const heldAtCall: boolean[] = [];
/** The keys the stages were called with. */
const keysSeen: { part: string; version: string | null }[] = [];

/** A namespace whose one object answers the StageObject methods from an in-memory Stage. */
function namespace(fail?: "load" | "busy") {
  let stage: Promise<Stage> | null = null;
  const holds = new Set<string>();
  const ended = new Map<string, () => void>();
  openHolds.push(holds);
  /** The key every call names (worker/stage/host.ts StageKey): the part and the front door's manifest. */
  type Key = { part: string; version: string | null };
  const get = (key: Key) => {
    keysSeen.push(key);
    if (fail === "load") throw new Error("weights: shard-001.bin fails its sha256 check (corrupt): injected");
    if (fail === "busy") throw new Error("split: stage 0-1 serves another request");
    return (stage ??= loadStage(new MemorySource(WEIGHT_FILES), { kernels: BUILDS[0].module }, key.part));
  };
  const stub = {
    encode: async (key: Key, img: never) => (await get(key)).encode(img),
    prefill: async (key: Key, req: { session: string }) => {
      heldAtCall.push(holds.has(req.session));
      return (await get(key)).prefill(req as never);
    },
    decode: async (key: Key, req: { session: string }) => {
      heldAtCall.push(holds.has(req.session));
      return (await get(key)).decode(req as never);
    },
    hold: (_key: Key, s: string) => {
      holds.add(s);
      return new Promise<void>((resolve) => ended.set(s, resolve));
    },
    end: async (key: Key, s: string) => {
      holds.delete(s);
      ended.get(s)?.();
      (await get(key)).end(s);
    },
    info: async (key: Key) => (await get(key)).describe(key.part),
  };
  return { idFromName: () => ({}), get: () => stub };
}

const ask = (e: object) =>
  app.fetch(
    new Request("http://localhost/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(chatBody(IMAGES["shapes.png"], QUESTION, { max_tokens: 6 })),
    }),
    e,
  );

let solo: unknown;
beforeAll(async () => {
  await seedWeights();
  const r = await ask(env);
  expect(r.status).toBe(200);
  solo = ((await r.json()) as { choices: unknown }).choices;
  modelStore.reset();
});
afterEach(() => modelStore.reset());

const splitEnv = (fail?: "load" | "busy") => ({
  ...env,
  SPLIT,
  STAGE_0: namespace(),
  STAGE_1: namespace(fail),
  STAGE_2: namespace(),
});

/** Asks through `e`, checks the answer is the single-isolate one over 3 stages, returns /health then. */
async function answerAndHealth(e: object) {
  const r = await ask(e);
  expect(r.status).toBe(200);
  const j = (await r.json()) as { choices: unknown; atp: { split: { stages: number } } };
  expect(j.choices).toEqual(solo);
  expect(j.atp.split.stages).toBe(3);
  return (await (await app.fetch(new Request("http://localhost/health"), e)).json()) as {
    memory: { stages: { part: string; memoryBytes: number }[] };
  };
}

describe("the front door of a split model", () => {
  it("answers as the model in one isolate, and /health reports each stage's memory", async () => {
    const e = splitEnv();
    const h = await answerAndHealth(e);
    expect(h.memory.stages.map((s) => s.part)).toEqual(["vision", "0-1", "2-2"]);
    for (const s of h.memory.stages) expect(s.memoryBytes).toBeGreaterThan(0);
  });

  it("names the manifest it serves in every stage call, so a stage answers only for that model", async () => {
    keysSeen.length = 0;
    const r = await ask(splitEnv());
    expect(r.status).toBe(200);
    const etag = (await env.WEIGHTS.head("manifest.json"))!.etag;
    expect(keysSeen.length).toBeGreaterThan(4);
    expect(new Set(keysSeen.map((k) => k.version))).toEqual(new Set([etag]));
  });

  it("holds each decoder stage for the whole request (so it is not evicted between calls), then lets go", async () => {
    heldAtCall.length = 0;
    openHolds.length = 0;
    const r = await ask(splitEnv());
    expect(r.status).toBe(200);
    expect(heldAtCall.length).toBeGreaterThan(4); // two stages' prefill and decode steps
    expect(heldAtCall.every(Boolean)).toBe(true); // each call found its session's hold open
    expect(openHolds.map((h) => h.size)).toEqual([0, 0, 0]); // vision holds nothing; the rest ended
  });

  it('a part marked "@" runs in the front door itself: same answer, no binding needed for it', async () => {
    const e = { ...splitEnv(), SPLIT: "vision|@0-1|2-2", STAGE_1: undefined };
    const h = await answerAndHealth(e);
    expect(h.memory.stages.map((s) => s.part)).toEqual(["vision", "@0-1", "2-2"]);
    expect(h.memory.stages[1].memoryBytes).toBeGreaterThan(0);
  });

  it.each([
    ["load", "weights_unavailable"],
    ["busy", "overloaded"],
  ] as const)("a stage that fails to %s: 503 %s with Retry-After", async (fail, code) => {
    const r = await ask(splitEnv(fail));
    expect(r.status).toBe(503);
    expect(Number(r.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe(code);
  });

  it("a SPLIT that does not fit the model is a clear 503, not a crash", async () => {
    const r = await ask({ ...splitEnv(), SPLIT: "vision|0-1" });
    expect(r.status).toBe(503);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/layers 0-2/);
  });
});
