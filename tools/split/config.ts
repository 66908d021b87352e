// The wrangler configs of a split deployment (docs/split.md), written from wrangler.toml and the split:
// the front door (wrangler.toml plus SPLIT and one Durable Object binding STAGE_i per stage) and one
// stage Worker per part (worker/stage/index.ts, named atp-edge-stage-i, with the WEIGHTS bucket and its
// StageObject class); a part marked "@" runs in the front door itself and gets no Worker. They are written at the repository root (paths in them are relative to it) as
// .split.*.toml, ignored by git: the split is configuration, the code is the same for every stage.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The configs written, front door first. */
export interface SplitConfigs {
  front: string;
  stages: string[];
}

/** Stage Worker name of stage `i`. */
export const stageName = (i: number) => `atp-edge-stage-${i}`;

/** Writes the front door's and every stage's config for `split` ("vision|0-14|15-29"). */
export function writeSplitConfigs(split: string, base = "wrangler.toml", dir = "."): SplitConfigs {
  const parts = split.split("|").map((t) => t.trim());
  const n = parts.length;
  const main = readFileSync(base, "utf8");
  if (!/^\[vars\]$/m.test(main)) throw new Error(`${base} has no [vars] table`);
  let front = main.replace(/^\[vars\]$/m, `[vars]\nSPLIT = ${JSON.stringify(split)}`);
  for (let i = 0; i < n; i++) {
    if (parts[i].startsWith("@")) continue; // runs in the front door
    front += `\n[[durable_objects.bindings]]\nname = "STAGE_${i}"\nclass_name = "StageObject"\nscript_name = "${stageName(i)}"\n`;
  }
  const bucket = /bucket_name = "([^"]+)"/.exec(main)?.[1] ?? "atp-edge-weights";
  const date = /compatibility_date = "([^"]+)"/.exec(main)?.[1] ?? "2026-11-01";
  const out: SplitConfigs = { front: join(dir, ".split.front.toml"), stages: [] };
  writeFileSync(out.front, front);
  for (let i = 0; i < n; i++) {
    if (parts[i].startsWith("@")) continue;
    const path = join(dir, `.split.stage-${i}.toml`);
    writeFileSync(
      path,
      [
        `# Stage ${i} of the split "${split}" (tools/split/config.ts; worker/stage/index.ts).`,
        `name = "${stageName(i)}"`,
        `main = "worker/stage/index.ts"`,
        `compatibility_date = "${date}"`,
        `compatibility_flags = ["nodejs_compat"]`,
        `rules = [{ type = "CompiledWasm", globs = ["**/*.wasm"], fallthrough = false }]`,
        ``,
        `[limits]`,
        `cpu_ms = 300000`,
        ``,
        `[[r2_buckets]]`,
        `binding = "WEIGHTS"`,
        `bucket_name = "${bucket}"`,
        `preview_bucket_name = "${bucket}"`,
        ``,
        `[vars]`,
        `KERNELS = ""`,
        `STAGE_KEEP_WARM_S = "300"`,
        ``,
        `[[durable_objects.bindings]]`,
        `name = "STAGE"`,
        `class_name = "StageObject"`,
        ``,
        `[[migrations]]`,
        `tag = "v1"`,
        `new_sqlite_classes = ["StageObject"]`,
        ``,
      ].join("\n"),
    );
    out.stages.push(path);
  }
  return out;
}
