// npm run bench:jpeg -- --help prints the flags (USAGE below).
// Large JPEGs in workerd: the Worker's decoder (libjpeg-turbo at the DCT scale the model needs,
// worker/image/jpeg.ts) against the full-size jpeg-js decode the Worker used before, on the same files
// -- --count test questions' images upscaled to --side x --side (nearest neighbour, plus +-noise of
// uniform grain so the file carries photo-like entropy), JPEG --quality. Each request is served as the
// Worker serves one (tools/bench/cost-worker.ts), by the default pruning method: image decode and
// preprocessing ms of both paths side by side, their ratio, and whether the answers are the same (and
// right) -- and the original 96 x 96 PNG's answer as the yardstick.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { encode as encodeJpeg } from "jpeg-js";
import { defaultMethod, loadModel, type MethodName } from "../../wasm/index";
import { loadSplit, type EvalItem } from "../eval/data";
import { FileSource, kernelModule } from "../eval/node";
import { rgbToPng } from "../shapesvqa/png";
import { exactMatch } from "../shapesvqa/score";
import { hostName, measure, resizeNearest, rgbaWithGrain } from "./cost-measure";
import type { CostJobRequest, CostRecord } from "./cost-worker";
import { readWeightFiles } from "./model-io";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run bench:jpeg [-- --weights weights] [--data data] [--count 120] [--side 2048] [--quality 90]
    [--noise 4] [--json out/bench/jpeg.json]`;

const { values } = parseFlags("bench:jpeg", USAGE, {
  weights: { type: "string", default: "weights" },
  data: { type: "string", default: "data" },
  count: { type: "string", default: "120" },
  side: { type: "string", default: "2048" },
  quality: { type: "string", default: "90" },
  noise: { type: "string", default: "4" },
  json: { type: "string", default: "out/bench/jpeg.json" },
});

const MAX_TOKENS = (it: EvalItem) => (it.family === "caption" ? 24 : 4);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** A side x side JPEG of a 96 x 96 RGB image, with deterministic +-noise grain. */
function bigJpeg(rgb: Uint8Array, side: number, noise: number, quality: number, seed: number): Uint8Array {
  const rgba = rgbaWithGrain(resizeNearest(rgb, side), noise, seed);
  return new Uint8Array(encodeJpeg({ data: rgba, width: side, height: side }, quality).data);
}

async function main(): Promise<void> {
  const side = Number(values.side);
  const weights = readWeightFiles(values.weights!);
  const model = await loadModel(new FileSource(values.weights!), { kernels: kernelModule("relaxed") });
  const method: MethodName = defaultMethod(model.config);
  const test = loadSplit(values.data!, "test");
  const step = Math.max(1, Math.floor(test.length / Number(values.count)));
  const items = test.filter((_, i) => i % step === 0).slice(0, Number(values.count));
  const images = new Map<string, Uint8Array>();
  const reqs: CostJobRequest[] = [];
  const bytes: number[] = [];
  for (const it of items) {
    const png = `__img.test.${it.imageIndex}.png`;
    const jpg = `__img.test.${it.imageIndex}.${side}.jpeg`;
    if (!images.has(jpg)) {
      images.set(png, rgbToPng(96, 96, it.image));
      images.set(
        jpg,
        bigJpeg(it.image, side, Number(values.noise), Number(values.quality), it.imageIndex + 1),
      );
      bytes.push(images.get(jpg)!.length);
    }
    const base = { qIds: it.qIds, method, knobs: {}, maxTokens: MAX_TOKENS(it) };
    reqs.push({ ...base, image: jpg, decoder: "jpeg-js" }, { ...base, image: jpg }, { ...base, image: png });
  }
  console.log(
    `${items.length} questions, ${bytes.length} ${side} x ${side} JPEGs (mean ${Math.round(mean(bytes) / 1024)} KB)`,
  );
  const { platform, records } = await measure(weights, images, reqs, "relaxed");
  const rows = items.map((it, i) => {
    const [full, scaled, png] = records.slice(3 * i, 3 * i + 3);
    return { it, full, scaled, png };
  });
  const cost = (r: CostRecord) => r.decodeImageMs + r.timings.preprocessMs;
  const path = (pick: (r: (typeof rows)[number]) => CostRecord) => ({
    decode_ms: round(median(rows.map((r) => pick(r).decodeImageMs))),
    preprocess_ms: round(median(rows.map((r) => pick(r).timings.preprocessMs))),
    decode_preprocess_ms: round(median(rows.map((r) => cost(pick(r))))),
    decoded_pixels: pick(rows[0]).inputPixels,
    accuracy: round(mean(rows.map((r) => (exactMatch(pick(r).text, r.it.answer) ? 1 : 0))), 4),
  });
  const out = {
    host: hostName(),
    platform,
    method,
    images: {
      count: bytes.length,
      side,
      quality: Number(values.quality),
      noise: Number(values.noise),
      mean_bytes: Math.round(mean(bytes)),
    },
    questions: items.length,
    jpeg_js_full: path((r) => r.full),
    worker_dct_scaled: path((r) => r.scaled),
    png_96: path((r) => r.png),
    // per question, then the median: both paths ran the same file one after the other
    speedup_median: round(median(rows.map((r) => cost(r.full) / cost(r.scaled)))),
    same_answer: round(mean(rows.map((r) => (r.full.text === r.scaled.text ? 1 : 0))), 4),
    same_answer_as_png: round(mean(rows.map((r) => (r.scaled.text === r.png.text ? 1 : 0))), 4),
  };
  mkdirSync(dirname(values.json!), { recursive: true });
  writeFileSync(values.json!, JSON.stringify(out, null, 2) + "\n");
  console.log(JSON.stringify(out, null, 2));
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
