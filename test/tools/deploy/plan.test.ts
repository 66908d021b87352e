// The deploy plan: bucket creation tolerated when it exists, every weight object uploaded to the remote
// bucket with its content type, manifest.json last, `wrangler deploy` at the end; the skip flags.
import { describe, expect, it } from "vitest";
import { deployPlan, TAIL_CONFIG } from "../../../tools/deploy/plan";

const keys = ["shard-000.bin", "shard-001.bin", "config.json", "tokenizer.json", "manifest.json"];

describe("deployPlan", () => {
  it("creates the bucket, uploads shards before the manifest, then deploys", () => {
    const steps = deployPlan({
      bucket: "atp-edge-weights",
      weightsDir: "weights",
      keys,
      upload: true,
      deploy: true,
    });
    expect(steps[0]).toEqual({ args: ["r2", "bucket", "create", "atp-edge-weights"], okIfExists: true });
    const puts = steps.filter((s) => s.args[1] === "object");
    expect(puts.map((s) => s.args[3])).toEqual(keys.map((k) => `atp-edge-weights/${k}`));
    for (const s of puts) expect(s.args).toContain("--remote");
    expect(puts[0].args).toEqual(
      expect.arrayContaining(["--file", "weights/shard-000.bin", "application/octet-stream"]),
    );
    expect(puts.at(-1)!.args).toEqual(expect.arrayContaining(["application/json"]));
    // the Worker, then its Tail Worker (which binds the Worker's metrics store)
    expect(steps.slice(-2)).toEqual([{ args: ["deploy"] }, { args: ["deploy"], config: TAIL_CONFIG }]);
  });

  it("skips the upload or the deploy on request", () => {
    const base = { bucket: "b", weightsDir: "w", keys };
    expect(deployPlan({ ...base, upload: false, deploy: true })).toEqual([
      { args: ["deploy"] },
      { args: ["deploy"], config: TAIL_CONFIG },
    ]);
    expect(deployPlan({ ...base, upload: true, deploy: false }).some((s) => s.args[0] === "deploy")).toBe(
      false,
    );
  });
});
