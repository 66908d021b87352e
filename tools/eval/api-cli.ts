// npm run eval:api -- --help prints the flags (USAGE below).
// ShapesVQA through the HTTP API (tools/eval/api.ts). Without --url it seeds a fresh local R2 from
// --weights and starts `wrangler dev` as `npm start` does (tools/seed/dev.ts), and stops it at the end.
// Prints accuracy per family and writes the JSON report (default out/eval/api-SPLIT.json).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { ensureKernels } from "../build/kernels";
import { startSeededDevServer, type DevServer } from "../seed/dev";
import { evaluateApi } from "./api";
import { loadSplit } from "./data";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run eval:api -- [--split test|val] [--limit N] [--url URL] [--weights weights] [--concurrency 2]
    [--api-key KEY] [--json FILE]`;

async function main(): Promise<void> {
  const { values } = parseFlags("eval:api", USAGE, {
    split: { type: "string", default: "test" },
    limit: { type: "string" },
    url: { type: "string" },
    weights: { type: "string", default: "weights" },
    concurrency: { type: "string", default: "2" },
    json: { type: "string" },
    "api-key": { type: "string" },
  });
  const split = values.split;
  if (split !== "test" && split !== "val") throw new Error(`--split must be test or val, not ${split}`);
  const all = loadSplit("data", split);
  const items = values.limit ? all.slice(0, Number(values.limit)) : all;
  let server: DevServer | undefined;
  let url = values.url;
  if (!url) {
    ensureKernels();
    server = await startSeededDevServer({ weightsDir: values.weights });
    url = server.url;
  }
  try {
    const t0 = performance.now();
    const report = await evaluateApi(url, items, {
      split,
      concurrency: Number(values.concurrency),
      apiKey: values["api-key"],
      onProgress: (n) => {
        if (n % 250 === 0) console.log(`${n} / ${items.length}`);
      },
    });
    const s = (performance.now() - t0) / 1000;
    for (const [f, a] of Object.entries(report.accuracy))
      console.log(`${f.padEnd(9)} ${(a * 100).toFixed(1)}%`);
    const vt = report.visual_tokens;
    console.log(
      `${report.count} questions through ${url} in ${s.toFixed(0)} s; methods ${JSON.stringify(report.methods)}; ` +
        `visual tokens ${(vt.mean_fraction * 100).toFixed(1)}% mean, ${(vt.input_fraction * 100).toFixed(1)}% entering`,
    );
    const out = values.json ?? `out/eval/api-${split}.json`;
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(report, null, 2) + "\n");
    console.log(`wrote ${out}`);
  } finally {
    await server?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
