// npm run bench:workerd [-- --weights weights] [--onnx FILE] [--runs 5] [--tokens 24] [--precision int8|f32]
//                          [--json FILE]
// The model benchmark inside workerd (tools/bench/model-worker.ts, started with wrangler's unstable_dev
// on tools/bench/model.wrangler.toml; the weights travel in the request body, as they would come from
// R2), then onnxruntime-web here in Node on the same prompt (workerd cannot compile ORT's Wasm).
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { unstable_dev } from "wrangler";
import type { ModelFigures } from "./model-core";
import { benchImage, MODEL_BENCH_OPTIONS, readWeightFiles } from "./model-io";
import { reportAgainstOrt } from "./model-ort";

const { values } = parseArgs({ options: MODEL_BENCH_OPTIONS });

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
    const query = `runs=${values.runs}&tokens=${values.tokens}&precision=${values.precision}&width=${image.width}&height=${image.height}`;
    const res = await worker.fetch(`/?${query}`, { method: "POST", body });
    if (!res.ok) throw new Error(`bench worker answered ${res.status}: ${await res.text()}`);
    figures = ((await res.json()) as { figures: ModelFigures[] }).figures;
  } finally {
    await worker.stop();
  }
  await reportAgainstOrt({
    runtime: "workerd (local)",
    ortWhere: `(in Node ${process.version})`,
    weightsDir: values.weights!,
    files,
    image,
    figures,
    onnx: values.onnx,
    runs: Number(values.runs),
    json: values.json,
  });
}

main().catch((err: Error) => {
  console.error(`bench:workerd: ${err.message}`);
  process.exit(1);
});
