// npm run bench:base -- --help prints the flags (USAGE below).
// atp-base at realistic size in workerd (docs/atp-base.md): generated weights (tools/base, built here when
// missing), seeded into a local R2, served by `wrangler dev` (a) in one isolate, q4 and q8, and (b) split
// across stage Workers, q8 (docs/split.md). Per setting and method (none, atp at its fixed ~24% budget):
// TTFT, LLM prefill, vision and decode ms per token (medians over --runs), the ratios none / atp, the
// Wasm memory of each isolate (the engine's linear memory, from the model or from each stage), the
// workerd process's peak RSS, and for the split the bytes moved between stages and the per-token overhead.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { writeModelDir } from "../convert/write";
import { buildBase } from "../base/build";
import { startDevServer, type DevServer } from "../seed/dev";
import { seedLocalR2 } from "../seed/seed";
import { writeSplitConfigs } from "../split/config";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run bench:base [-- --runs 3 --max-tokens 16 --split "vision|@0-14|15-29" --json out/bench/base.json]`;

const { values } = parseFlags("bench:base", USAGE, {
  runs: { type: "string", default: "3" },
  "max-tokens": { type: "string", default: "16" },
  split: { type: "string", default: "vision|@0-14|15-29" },
  json: { type: "string", default: "out/bench/base.json" },
  only: { type: "string" },
});
const RUNS = Number(values.runs);
const MAX_TOKENS = Number(values["max-tokens"]);

function weightsDir(quant: "q8" | "q4"): string {
  const dir = `out/atp-base-${quant}`;
  if (!existsSync(join(dir, "manifest.json"))) writeModelDir(buildBase({ quant, seed: 1 }).files, dir);
  return dir;
}

/** Peak and current RSS (MB) of the workerd processes running now (the dev server's). */
function workerdMemory(): { peakMb: number; rssMb: number } {
  let peak = 0;
  let rss = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      if (!/^Name:\s+workerd$/m.test(status)) continue;
      peak += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
      rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    } catch {
      // the process ended
    }
  }
  return { peakMb: peak, rssMb: rss };
}

const png = readFileSync("test/fixtures/images/shapes.png").toString("base64");

interface Answer {
  atp: {
    visual_tokens: { per_layer: number[]; mean_fraction: number };
    timings: { ttft_ms: number; prefill_ms: number; vision_ms: number; decode_ms_per_token: number };
    split?: { bytes_moved: number; bytes_per_decoded_token: number; overhead_ms_per_token: number };
  };
  usage: { completion_tokens: number };
}

async function ask(server: DevServer, method: string): Promise<Answer> {
  const r = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      max_tokens: MAX_TOKENS,
      atp: { method, deadline_ms: 100_000 },
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what color is the circle ?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } },
          ],
        },
      ],
    }),
  });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${method}: ${r.status} ${text}\n${server.log().slice(-3000)}`);
  return JSON.parse(text) as Answer;
}

/** The model id the weights' manifest.json names. */
const manifestModelId = (weights: string): string =>
  (JSON.parse(readFileSync(join(weights, "manifest.json"), "utf8")) as { model_id: string }).model_id;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(name: string, weights: string, split: string | null) {
  const root = mkdtempSync(join(tmpdir(), "atp-base-"));
  const persistTo = join(root, "state");
  await seedLocalR2({ weightsDir: weights, persistTo, configPath: "wrangler.toml" });
  const cfg = split ? writeSplitConfigs(split) : null;
  const server = await startDevServer({
    persistTo,
    configPath: cfg?.front ?? "wrangler.toml",
    alsoConfigs: cfg?.stages ?? [],
    timeoutMs: 180_000,
    // the API serves the weights under their own id (wrangler.toml names the default model's)
    vars: { CPU_BUDGET_MS: "", MODEL_ID: manifestModelId(weights) },
  });
  const idle = workerdMemory();
  try {
    const t0 = performance.now();
    await ask(server, "none"); // the cold load (and the first request)
    const coldMs = performance.now() - t0;
    const out: Record<string, unknown> = { setting: name, weights, split, coldMs, idleRssMb: idle.rssMb };
    for (const method of ["none", "atp"]) {
      const runs: Answer[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await ask(server, method));
      const t = (f: (a: Answer) => number) => median(runs.map(f));
      out[method] = {
        ttftMs: t((a) => a.atp.timings.ttft_ms),
        prefillMs: t((a) => a.atp.timings.prefill_ms),
        visionMs: t((a) => a.atp.timings.vision_ms),
        decodeMsPerToken: t((a) => a.atp.timings.decode_ms_per_token),
        tokens: runs[0].usage.completion_tokens,
        visualMeanFraction: runs[0].atp.visual_tokens.mean_fraction,
        visualPerLayer: runs[0].atp.visual_tokens.per_layer,
        ...(runs[0].atp.split
          ? {
              bytesMoved: runs[0].atp.split.bytes_moved,
              bytesPerDecodedToken: runs[0].atp.split.bytes_per_decoded_token,
              overheadMsPerToken: t((a) => a.atp.split!.overhead_ms_per_token),
            }
          : {}),
      };
    }
    const health = (await (await fetch(`${server.url}/health`)).json()) as Record<string, unknown>;
    const mem = workerdMemory();
    Object.assign(out, { peakRssMb: mem.peakMb, rssMb: mem.rssMb, health });
    const n = out.none as { prefillMs: number; ttftMs: number };
    const a = out.atp as { prefillMs: number; ttftMs: number };
    Object.assign(out, { prefillRatio: n.prefillMs / a.prefillMs, ttftRatio: n.ttftMs / a.ttftMs });
    console.log(JSON.stringify(out));
    return out;
  } finally {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

const settings: [string, () => string, string | null][] = [
  ["one isolate, q4", () => weightsDir("q4"), null],
  ["one isolate, q8", () => weightsDir("q8"), null],
  [`split ${values.split}, q8`, () => weightsDir("q8"), values.split!],
];
const results = [];
for (const [name, dir, split] of settings) {
  if (values.only && !name.includes(values.only)) continue;
  results.push(await measure(name, dir(), split));
}
const host = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
mkdirSync(dirname(values.json!), { recursive: true });
writeFileSync(values.json!, JSON.stringify({ host, runs: RUNS, maxTokens: MAX_TOKENS, results }, null, 2));
console.log(`wrote ${values.json}`);
