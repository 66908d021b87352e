// The split's wrangler configs (tools/split/config.ts): the front door is wrangler.toml plus SPLIT and
// one binding per stage to that stage Worker's Durable Object; each stage Worker runs worker/stage/ with
// the weights bucket and its own StageObject class.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stageName, writeSplitConfigs } from "../../../tools/split/config";

const dir = mkdtempSync(join(tmpdir(), "atp-split-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("split configs", () => {
  it("front door and one stage Worker per part", () => {
    const cfg = writeSplitConfigs("vision|0-14|15-29", "wrangler.toml", dir);
    expect(cfg.stages.length).toBe(3);
    const front = readFileSync(cfg.front, "utf8");
    expect(front).toContain('SPLIT = "vision|0-14|15-29"');
    expect(front).toContain('main = "worker/index.ts"');
    for (let i = 0; i < 3; i++) {
      expect(front).toContain(
        `name = "STAGE_${i}"\nclass_name = "StageObject"\nscript_name = "${stageName(i)}"`,
      );
      const stage = readFileSync(cfg.stages[i], "utf8");
      expect(stage).toContain(`name = "${stageName(i)}"`);
      expect(stage).toContain('main = "worker/stage/index.ts"');
      expect(stage).toContain('bucket_name = "atp-edge-weights"');
      expect(stage).toContain('new_sqlite_classes = ["StageObject"]');
      expect(stage).toContain('STAGE_KEEP_WARM_S = "300"'); // kept warm 5 min after its last call
    }
    expect(readFileSync("wrangler.toml", "utf8")).not.toContain("SPLIT ="); // the base is left alone
  });

  it('a part marked "@" gets no Worker and no binding: it runs in the front door', () => {
    const d = mkdtempSync(join(dir, "at-"));
    const cfg = writeSplitConfigs("vision|@0-14|15-29", "wrangler.toml", d);
    expect(cfg.stages.map((p) => p.replace(d, ""))).toEqual(["/.split.stage-0.toml", "/.split.stage-2.toml"]);
    const front = readFileSync(cfg.front, "utf8");
    expect(front).toContain('SPLIT = "vision|@0-14|15-29"');
    expect(front).toContain('name = "STAGE_0"');
    expect(front).not.toContain('name = "STAGE_1"');
    expect(front).toContain('name = "STAGE_2"');
  });
});
