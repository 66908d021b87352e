// The cost benchmark's measuring side, inside workerd (npm run bench:cost starts it with wrangler's
// unstable_dev on tools/bench/cost.wrangler.toml). POST / with the weight files, the encoded images and a
// job (packed by tools/bench/model-workerd.ts packFiles): every request of the job is measured as the
// Worker serves one -- the image decoded by the Worker's own decoder (worker/image/decode.ts), then the
// engine with the request's pruning policy -- and its stats, per-token times and answer come back. Local
// workerd lets performance.now() advance (in production it moves only at I/O). A request with `decoder:
// "jpeg-js"` decodes its JPEG the way the Worker did before the DCT-scaled decoder (jpeg-js, full size):
// the baseline of npm run bench:jpeg. A request with `cpuBudgetMs` is planned here as the Worker plans one
// (wasm/engine/budget.ts chooseBudget on the weights' cost table, at this isolate's pace), so the check
// sees the pace follow the host's spells.
import { KERNEL_MODULES } from "../../worker/kernels";
import {
  BudgetTooSmall,
  chooseBudget,
  createPolicy,
  loadModel,
  MemorySource,
  platformKey,
  type Timings,
  type MethodName,
  type PolicyKnobs,
  type KernelBuildName,
  type VisionReduction,
} from "../../wasm/index";
import { decode as decodeJpegJs } from "jpeg-js";
import { decodeImage } from "../../worker/image/decode";
import { readImageHeader } from "../../worker/image/header";
import { imageKey } from "../../worker/image/source";
import { unpackFiles } from "./model-worker";

/** One request to measure: an image (a key of the body's files), the question ids, the method. */
export interface CostJobRequest {
  image: string;
  qIds: number[];
  method: MethodName;
  knobs: PolicyKnobs;
  maxTokens: number;
  /** The image decoder: the Worker's (default) or jpeg-js at full size (a JPEG only). */
  decoder?: "worker" | "jpeg-js";
  /** A vision reduction before the method (wasm/pruning/vision.ts). */
  vision?: VisionReduction;
  /**
   * A follow-up on an image seen before: the request runs once unmeasured with the image's key, then
   * measured with it as the Worker serves it (the key's SHA-256 counted in decodeImageMs), so its vision
   * output comes from the model's cache (wasm/engine/vision-cache.ts) and its decode is skipped.
   */
  askedBefore?: boolean;
  /**
   * A CPU budget: the point is chosen here (knobs and vision above are ignored) from the cost table in the
   * weights, as `atp.cpu_budget_ms` chooses it; a request nothing fits is not run (`budget.refused`).
   */
  cpuBudgetMs?: number;
}

/** What a budget request chose. */
export interface BudgetOutcome {
  refused: boolean;
  keep: number;
  vision: boolean;
  /** The chosen point's prediction at the pace (the table's total x pace). */
  predictedMs: number;
}

/** What is measured of one request. */
export interface CostRecord {
  decodeImageMs: number;
  /** Pixels and bytes of the file, and pixels of the decoded image preprocessing read. */
  imagePixels: number;
  imageBytes: number;
  inputPixels: number;
  promptTokens: number;
  generatedTokens: number;
  visualPerLayer: number[];
  /** Rows of each vision encoder layer, and the layer a vision reduction followed (-1: none). */
  visionRows: number[];
  visionReduceLayer: number;
  timings: Timings;
  /** The vision output came from the model's cache. */
  visionCached: boolean;
  /** Each token's ms (index 0: time to first token). */
  tokenMs: number[];
  text: string;
  /** The model's pace (wasm/engine/pace.ts) when the request started: 1 without a cost table. */
  pace: number;
  /** A cpuBudgetMs request's choice. */
  budget?: BudgetOutcome;
}

export interface CostJob {
  kernels: KernelBuildName;
  requests: CostJobRequest[];
}

/** The Worker's decoder until the DCT-scaled one: jpeg-js, full size, RGB. */
function jpegJs(bytes: Uint8Array) {
  const j = decodeJpegJs(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024 });
  return { data: j.data, width: j.width, height: j.height, channels: 3 as const };
}

/** The record of a budget request that was refused (nothing ran). */
const REFUSED: Omit<CostRecord, "pace" | "budget"> = {
  decodeImageMs: 0,
  imagePixels: 0,
  imageBytes: 0,
  inputPixels: 0,
  promptTokens: 0,
  generatedTokens: 0,
  visualPerLayer: [],
  visionRows: [],
  visionReduceLayer: -1,
  timings: {
    queueMs: 0,
    preprocessMs: 0,
    visionMs: 0,
    visionLayersMs: [],
    visionReduceMs: 0,
    projectorMs: 0,
    prefillMs: 0,
    llmLayersMs: [],
    pruneMsPerLayer: [],
    ttftMs: 0,
    decodeMsPerToken: 0,
    totalMs: 0,
  },
  visionCached: false,
  tokenMs: [],
  text: "",
};

export default {
  async fetch(request: Request): Promise<Response> {
    const files = unpackFiles(new Uint8Array(await request.arrayBuffer()));
    const job = JSON.parse(new TextDecoder().decode(files.get("__job.json"))) as CostJob;
    const images = new Map<string, Uint8Array>();
    for (const [k, v] of files) if (k.startsWith("__img.")) images.set(k, v);
    for (const k of [...images.keys(), "__job.json"]) files.delete(k);
    try {
      const model = await loadModel(new MemorySource(files), {
        kernels: KERNEL_MODULES[job.kernels],
      });
      const records: CostRecord[] = [];
      for (const r of job.requests) {
        const bytes = images.get(r.image);
        if (!bytes) throw new Error(`no image ${r.image}`);
        const header = readImageHeader(bytes);
        const side = model.config.vision.imageSize;
        const pace = model.pace.factor;
        let budget: BudgetOutcome | undefined;
        let knobs = r.knobs;
        let vision = r.vision ?? null;
        if (r.cpuBudgetMs !== undefined) {
          const row = model.costRow;
          if (!row) throw new Error("a cpuBudgetMs request needs weights with a cost table");
          const work = {
            imageFormat: header.format,
            imagePixels: header.width * header.height,
            imageBytes: bytes.length,
            promptTokens: model.tokenizer.promptIds(r.qIds).length,
            numVisual: model.config.imageSeqLength,
            tokens: r.maxTokens,
          };
          try {
            const c = chooseBudget(row, r.method, r.cpuBudgetMs, work, pace);
            knobs = c.point.knobs;
            vision = c.point.vision ?? null;
            budget = {
              refused: false,
              keep: c.point.keep,
              vision: vision !== null,
              predictedMs: c.predicted.totalMs * pace,
            };
          } catch (err) {
            if (!(err instanceof BudgetTooSmall)) throw err;
            records.push({
              ...REFUSED,
              pace,
              budget: { refused: true, keep: 0, vision: false, predictedMs: 0 },
            });
            continue;
          }
        }
        const options = { maxTokens: r.maxTokens, vision };
        if (r.askedBefore) {
          const first = await decodeImage(bytes, "image", side);
          const key = await imageKey(bytes);
          await model.run(first, r.qIds, {
            ...options,
            policy: createPolicy(r.method, knobs),
            imageKey: key,
          });
        }
        const t0 = performance.now();
        const decode = async () =>
          r.decoder === "jpeg-js" ? jpegJs(bytes) : await decodeImage(bytes, "image", side);
        // as worker/serve/request.ts: the key first, and no decode for an image whose output is kept
        const key = r.askedBefore ? await imageKey(bytes) : undefined;
        const image = key !== undefined && model.cachedVision(key, vision) ? decode : await decode();
        const decodeImageMs = performance.now() - t0;
        const tokenMs: number[] = [];
        let done = null;
        const events = model.generate(image, r.qIds, {
          ...options,
          policy: createPolicy(r.method, knobs),
          ...(key ? { imageKey: key } : {}),
        });
        for await (const ev of events) {
          if (ev.type === "token") tokenMs.push(ev.ms);
          else done = ev;
        }
        records.push({
          decodeImageMs,
          imagePixels: header.width * header.height,
          imageBytes: bytes.length,
          inputPixels:
            typeof image === "function" ? header.width * header.height : image.width * image.height,
          promptTokens: done!.stats.promptTokens,
          generatedTokens: done!.stats.generatedTokens,
          visualPerLayer: done!.stats.visualTokens.perLayer,
          visionRows: done!.stats.visionRows.perLayer,
          visionReduceLayer: vision?.layer ?? -1,
          timings: done!.stats.timings,
          visionCached: done!.stats.visionCached,
          tokenMs,
          text: done!.text,
          pace,
          ...(budget ? { budget } : {}),
        });
      }
      return Response.json({ platform: platformKey(model), records });
    } catch (err) {
      return new Response((err as Error).stack ?? String(err), { status: 500 });
    }
  },
};
