// npm run deploy -- --help prints the flags (USAGE below).
// Production: creates the WEIGHTS bucket named in wrangler.toml if needed, uploads weights/ to it
// (shards, config, tokenizer, manifest.json last) and runs `wrangler deploy`. Needs `wrangler login` (or
// CLOUDFLARE_API_TOKEN). The API key is a secret set once: `npx wrangler secret put API_KEY`.
// --dry-run prints the commands without running them.
import { spawnSync } from "node:child_process";
import { unstable_readConfig } from "wrangler";
import { weightObjects } from "../seed/seed";
import { deployPlan } from "./plan";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run deploy -- [--weights weights] [--dry-run] [--skip-upload] [--skip-deploy]`;

const { values } = parseFlags("deploy", USAGE, {
  weights: { type: "string", default: "weights" },
  config: { type: "string", default: "wrangler.toml" },
  "dry-run": { type: "boolean", default: false },
  "skip-upload": { type: "boolean", default: false },
  "skip-deploy": { type: "boolean", default: false },
});

async function main(): Promise<void> {
  const config = unstable_readConfig({ config: values.config });
  const binding = config.r2_buckets.find(
    (b: { binding: string; bucket_name?: string }) => b.binding === "WEIGHTS",
  );
  if (!binding?.bucket_name) throw new Error(`${values.config} has no R2 binding WEIGHTS with a bucket_name`);
  const objects = await weightObjects(values.weights!);
  const steps = deployPlan({
    bucket: binding.bucket_name,
    weightsDir: values.weights!,
    keys: objects.map((o) => o.key),
    upload: !values["skip-upload"],
    deploy: !values["skip-deploy"],
  });
  for (const step of steps) {
    const config = step.config ?? values.config!;
    const line = `wrangler ${step.args.join(" ")} --config ${config}`;
    console.log(`deploy: ${line}`);
    if (values["dry-run"]) continue;
    const r = spawnSync("npx", ["wrangler", ...step.args, "--config", config], {
      stdio: ["inherit", "inherit", step.okIfExists ? "pipe" : "inherit"],
      encoding: "utf8",
    });
    if (r.status === 0) continue;
    if (step.okIfExists && /already exists/i.test(r.stderr ?? "")) {
      console.log("deploy: (bucket exists)");
      continue;
    }
    if (step.okIfExists) process.stderr.write(r.stderr ?? "");
    throw new Error(`${line} failed (exit ${r.status})`);
  }
}

main().catch((err: Error) => {
  console.error(`deploy: ${err.message}`);
  process.exit(1);
});
