// A stage Worker's state (worker/stage/host.ts) on the real R2 binding: it loads its part once for calls
// naming the same model; a new manifest loads the new model when no session holds the stage; a front door
// still on the older manifest is told to retry (weights error, nothing reloaded); a session in progress
// keeps its model until it ends (busy); a front door ahead of what the stage found is told to retry.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { StageHost } from "../../../worker/stage/host";
import { BUILDS } from "../../helpers/kernels";
import { seedWeights, WEIGHT_FILES } from "../helpers/api";

const kernels = () => BUILDS[0].module;
const etag = async () => (await env.WEIGHTS.head("manifest.json"))!.etag;

/** Uploads the same manifest again with `n` spaces after it: a new etag, the same model. */
async function republish(n: number): Promise<string> {
  const text = new TextDecoder().decode(WEIGHT_FILES.get("manifest.json")!) + " ".repeat(n);
  await env.WEIGHTS.put("manifest.json", text);
  return etag();
}

const PART = "0-1";
let v1 = "";
beforeAll(async () => {
  await seedWeights();
  v1 = await etag();
});

describe("a stage's model version", () => {
  it("loads its part once for calls that name the same model", async () => {
    const host = new StageHost(env.WEIGHTS, kernels);
    const a = await host.info({ part: PART, version: v1 });
    const b = await host.info({ part: PART, version: v1 });
    expect(host.loads).toBe(1);
    expect(b.memoryBytes).toBe(a.memoryBytes);
    await expect(host.info({ part: "2-2", version: v1 })).rejects.toThrow(/serves part "0-1"/);
  });

  it("loads a new manifest's model when no session holds it; an older front door is told to retry", async () => {
    await seedWeights();
    const old = await etag();
    const host = new StageHost(env.WEIGHTS, kernels);
    await host.info({ part: PART, version: old });
    const v2 = await republish(1);
    expect(v2).not.toBe(old);
    await host.info({ part: PART, version: v2 });
    expect(host.loads).toBe(2);
    await expect(host.info({ part: PART, version: old })).rejects.toThrow(/^weights: .*older/);
    expect(host.loads).toBe(2); // nothing reloaded for the stale front door
  });

  it("keeps the model of a session in progress until it ends (busy meanwhile)", async () => {
    await seedWeights();
    const first = await etag();
    const host = new StageHost(env.WEIGHTS, kernels);
    const key = { part: PART, version: first };
    await host.info(key);
    const held = host.hold(key, "s1");
    const next = await republish(2);
    await expect(host.info({ part: PART, version: next })).rejects.toThrow(/serves another request/);
    expect(host.loads).toBe(1);
    await host.end(key, "s1");
    await held; // the hold ends with its session
    await host.info({ part: PART, version: next });
    expect(host.loads).toBe(2);
  });

  it("a front door naming a manifest the stage did not find is told to retry", async () => {
    await seedWeights();
    const host = new StageHost(env.WEIGHTS, kernels);
    await expect(host.info({ part: PART, version: '"not-this-one"' })).rejects.toThrow(
      /^weights: .*loaded manifest/,
    );
    await host.info({ part: PART, version: await etag() }); // the one R2 has: served
    expect(host.loads).toBe(1);
  });
});
