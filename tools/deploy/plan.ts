// The production deploy as a list of wrangler commands: create the R2 bucket (if it does not exist yet),
// upload the weights (shards first, manifest.json last, so the bucket never names a shard it lacks), then
// deploy the Worker, then its Tail Worker. Pure: tools/deploy/cli.ts prints or runs the plan.
import { join } from "node:path";

/**
 * One wrangler invocation; `okIfExists` tolerates "already exists" (bucket creation); `config` runs it
 * with that wrangler config instead of the main one.
 */
export interface Step {
  args: string[];
  okIfExists?: boolean;
  config?: string;
}

/** The Tail Worker's config (worker/tail/): deployed after atp-edge, whose metrics store it binds. */
export const TAIL_CONFIG = "worker/tail/wrangler.toml";

/** What to deploy. */
export interface PlanInput {
  bucket: string;
  weightsDir: string;
  /** Object keys in upload order (tools/seed weightObjects). */
  keys: string[];
  upload: boolean;
  deploy: boolean;
}

const contentType = (key: string) =>
  key.endsWith(".json") ? "application/json" : "application/octet-stream";

/** The wrangler commands of a deploy, in order. */
export function deployPlan(p: PlanInput): Step[] {
  const steps: Step[] = [];
  if (p.upload) {
    steps.push({ args: ["r2", "bucket", "create", p.bucket], okIfExists: true });
    for (const key of p.keys) {
      steps.push({
        args: [
          "r2",
          "object",
          "put",
          `${p.bucket}/${key}`,
          "--file",
          join(p.weightsDir, key),
          "--content-type",
          contentType(key),
          "--remote",
        ],
      });
    }
  }
  if (p.deploy) steps.push({ args: ["deploy"] }, { args: ["deploy"], config: TAIL_CONFIG });
  return steps;
}
