// npm run bench:workerd [-- --weights weights] [--onnx out/atp-tiny/model.onnx] [--runs 5] [--tokens 24]
//                          [--json FILE]
// The model benchmark inside workerd (tools/bench/model-worker.ts, started with wrangler's unstable_dev
// on tools/bench/model.wrangler.toml; the weights travel in the request body, as they would come from
// R2), then onnxruntime-web here in Node on the same prompt (workerd cannot compile ORT's Wasm).
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { unstable_dev } from "wrangler";
import { kernelModule } from "../eval/node";
import { loadModel } from "../../wasm/loader";
import { MemorySource } from "../../wasm/source";
import { CAPTION_PROMPT, formatFigures, MEMORY_TARGET_BYTES, type ModelFigures } from "./model-core";
import { benchImage, readWeightFiles, referencePixels, type ModelBenchReport } from "./model-io";
import { timeOrtPrefill } from "./model-ort";

const { values } = parseArgs({
  options: {
    weights: { type: "string", default: "weights" },
    onnx: { type: "string", default: "out/atp-tiny/model.onnx" },
    data: { type: "string", default: "data" },
    runs: { type: "string", default: "5" },
    tokens: { type: "string", default: "24" },
    json: { type: "string" },
  },
});

/** The inverse of model-worker.ts unpackFiles. */
function packFiles(files: Map<string, Uint8Array>): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify([...files].map(([key, b]) => ({ key, bytes: b.byteLength }))),
  );
  const total = 4 + header.byteLength + [...files.values()].reduce((a, b) => a + b.byteLength, 0);
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, header.byteLength, true);
  out.set(header, 4);
  let p = 4 + header.byteLength;
  for (const b of files.values()) {
    out.set(b, p);
    p += b.byteLength;
  }
  return out;
}

async function main(): Promise<void> {
  const files = readWeightFiles(values.weights!);
  const image = benchImage(values.data!);
  const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
  const worker = await unstable_dev(here("./model-worker.ts"), {
    config: here("./model.wrangler.toml"),
    logLevel: "warn",
    experimental: { disableExperimentalWarning: true },
  });
  let figures: ModelFigures[];
  try {
    const body = packFiles(new Map([...files, ["__image.rgb", image.data]]));
    const res = await worker.fetch(`/?runs=${values.runs}&tokens=${values.tokens}`, { method: "POST", body });
    if (!res.ok) throw new Error(`bench worker answered ${res.status}: ${await res.text()}`);
    figures = ((await res.json()) as { figures: ModelFigures[] }).figures;
  } finally {
    await worker.stop();
  }
  const model = await loadModel(new MemorySource(files), { kernels: kernelModule("relaxed") });
  const ids = model.tokenizer.promptIds(CAPTION_PROMPT);
  const c = model.config;
  const ort = await timeOrtPrefill(
    values.onnx!,
    referencePixels(image.data, c.imageMean, c.imageStd),
    ids,
    Number(values.runs),
  );
  const report: ModelBenchReport = {
    runtime: "workerd (local)",
    weights: values.weights!,
    figures,
    ort,
    prefill_vs_ort:
      "ms" in ort
        ? Object.fromEntries(figures.map((f) => [f.build, ort.ms / f.vision_and_prefill_ms]))
        : null,
    peak_memory_bytes: Math.max(...figures.map((f) => f.peak_memory_bytes)),
    peak_memory_target_bytes: MEMORY_TARGET_BYTES,
  };
  console.log(formatFigures("workerd (local)", figures));
  if ("ms" in ort) {
    console.log(
      `onnxruntime-web ${ort.version} fp32 (in Node ${process.version}), vision + prefill: ${ort.ms.toFixed(1)} ms`,
    );
    for (const [b, r] of Object.entries(report.prefill_vs_ort!))
      console.log(`  prefill_vs_ort (${b}): ${r.toFixed(2)}x`);
  } else console.log(`onnxruntime-web skipped: ${ort.skipped}`);
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2) + "\n");
}

main().catch((err: Error) => {
  console.error(`bench:workerd: ${err.message}`);
  process.exit(1);
});
