// npm run bench:kernels:workerd -- --help prints the flags (USAGE below).
// Runs the kernel benchmark inside workerd (tools/bench/worker.ts, started with wrangler's
// unstable_dev on tools/bench/wrangler.toml), then times the onnxruntime-web peer here in Node on the
// same shapes (workerd cannot run ORT: no Wasm compilation from bytes) and fills in vs_ort.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_dev } from "wrangler";
import { shapesQuery, timeIt, type BenchReport } from "./core";
import { ORT_VERSION, ortPeer } from "./ort";
import { benchShapes } from "./shapes";
import { formatTable } from "./table";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run bench:kernels:workerd [-- --json FILE] [--ms N] [--quick] [--config models/atp-base/config.json]`;

const { values } = parseFlags("bench:kernels:workerd", USAGE, {
  json: { type: "string" },
  ms: { type: "string", default: "150" },
  quick: { type: "boolean", default: false },
  config: { type: "string", default: "weights/config.json" },
});

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const worker = await unstable_dev(here("./worker.ts"), {
  config: here("./wrangler.toml"),
  logLevel: "warn",
  experimental: { disableExperimentalWarning: true },
});
let report: BenchReport;
try {
  const model = benchShapes(values.config);
  if (values.quick) model.shapes = model.shapes.slice(0, 2);
  const res = await worker.fetch(`/?ms=${values.ms}&${shapesQuery(model)}`);
  if (!res.ok) throw new Error(`bench worker answered ${res.status}: ${await res.text()}`);
  report = (await res.json()) as BenchReport;
} finally {
  await worker.stop();
}

// The peer, in Node, on the shapes the worker ran.
const peer = ortPeer();
const ortName = `ort-web ${ORT_VERSION} (node)`;
for (const shape of [...new Set(report.kernels.map((r) => r.shape))]) {
  const [m, k, n] = shape.split("x").map(Number);
  const x = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
  const w = Float32Array.from({ length: n * k }, (_, i) => Math.cos(i) * 0.1);
  const s = await timeIt(await peer(m, k, n, w, x), () => performance.now(), Number(values.ms));
  for (const r of report.kernels.filter((e) => e.shape === shape)) {
    r.vs_ort = s / (r.us / 1e6);
    if (r.quant_us) r.vs_ort_with_quant = s / ((r.us + r.quant_us) / 1e6);
  }
  const gops = (2 * m * n * k) / s / 1e9;
  const at = report.kernels.findLastIndex((e) => e.shape === shape) + 1;
  report.kernels.splice(at, 0, { name: ortName, shape, gops, peak_fraction: null, vs_ort: 1, us: s * 1e6 });
}
console.log("kernels in workerd (local), onnxruntime-web peer in Node " + process.version);
console.log(formatTable(report));
if (values.json) mkdirSync(dirname(values.json), { recursive: true });
if (values.json) writeFileSync(values.json, JSON.stringify({ runtime: "workerd", ...report }, null, 2));
