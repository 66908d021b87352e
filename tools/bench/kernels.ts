// npm run bench:kernels -- --help prints the flags (USAGE below).
// The kernel benchmark in Node 22: the kernels from wasm/build/*.wasm, onnxruntime-web (fp32 MatMul,
// wasm backend, 1 thread) as the peer. Prints a table; --json writes {"peaks", "kernels": [...]}.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { instantiateKernels } from "../../wasm/tools";
import { instantiatePeaks, runBench } from "./core";
import { ORT_VERSION, ortPeer } from "./ort";
import { benchShapes } from "./shapes";
import { formatTable } from "./table";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run bench:kernels [-- --json FILE] [--ms N] [--quick] [--config models/atp-base/config.json]`;

const { values } = parseFlags("bench:kernels", USAGE, {
  json: { type: "string" },
  ms: { type: "string", default: "150" },
  quick: { type: "boolean", default: false },
  config: { type: "string", default: "weights/config.json" },
});

const module = (name: string) =>
  new WebAssembly.Module(readFileSync(new URL(`../../wasm/build/${name}`, import.meta.url)));

const [relaxed, simd] = await Promise.all(
  ["kernels.relaxed.wasm", "kernels.simd.wasm"].map((f) => instantiateKernels(module(f))),
);
const [peaksRelaxed, peaksSimd] = await Promise.all(
  ["bench.relaxed.wasm", "bench.simd.wasm"].map((f) => instantiatePeaks(module(f))),
);
const model = benchShapes(values.config);
const report = await runBench({
  relaxed,
  simd,
  peaks: { relaxed: peaksRelaxed, simd: peaksSimd },
  rows: model.rows,
  shapes: values.quick ? model.shapes.slice(0, 2) : model.shapes,
  ops: model.ops,
  minMs: Number(values.ms),
  now: () => performance.now(),
  peer: ortPeer(),
  peerName: `ort-web ${ORT_VERSION}`,
  log: (line) => process.stderr.write(`${line}\n`),
});
console.log(`Node ${process.version}, onnxruntime-web ${ORT_VERSION} (wasm, 1 thread)`);
console.log(formatTable(report));
if (values.json) mkdirSync(dirname(values.json), { recursive: true });
if (values.json)
  writeFileSync(values.json, JSON.stringify({ runtime: `node ${process.version}`, ...report }, null, 2));
