// The steps every generation route shares once its body is valid: the model id checked, the image
// decoded, the model fetched from the store, the client's disconnect wired to a cancel signal, and the
// answer started (which checks the prompt against the context), observed for the metrics (token times,
// then a record written after the response: worker/metrics/). Errors are ApiErrors with their status.
import type { Context } from "hono";
import { setMetric } from "hono/timing";
import { RecentMap, VISION_CACHE_ENTRIES, type ImageInput, type SamplingOptions } from "../../wasm/index";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { checkImage, decodeImage } from "../image/decode";
import { imageKey } from "../image/source";
import { finishMetrics, observe } from "../metrics/observe";
import type { RequestMarks } from "../metrics/record";
import { thumbnail, type Thumbnail } from "../metrics/thumbnail";
import type { AtpRequest } from "../schemas/atp";
import { modelStore, type OpenEnv } from "../store";
import { startAnswer, type Outcome, type StopReason } from "./answer";

/** What a route hands over. */
export interface AnswerInput {
  imageBytes: Uint8Array;
  /** Request field of the image, for errors. */
  imageParam: string;
  question: string;
  maxTokens?: number;
  sampling: SamplingOptions;
  atp: AtpRequest;
}

/** 404 for a model id this Worker does not serve (OpenAI's model_not_found). */
export function checkModelId(requested: string | null | undefined, served: string): void {
  if (requested && requested !== served) {
    throw new ApiError(
      404,
      `The model '${requested}' does not exist; this endpoint serves '${served}'`,
      "invalid_request_error",
      "model_not_found",
      "model",
    );
  }
}

/** Starts an answer; `cancel` aborts when the client disconnects (request.signal) or when told to. */
export async function beginAnswer(c: Context<AppEnv>, input: AnswerInput) {
  const arrivedAt = c.get("arrivedAt");
  const arrivedEpochMs = Date.now() - (performance.now() - arrivedAt);
  // the header first (413/415/422 before any work), the model (its image size sets the JPEG's DCT
  // scale), then the pixels
  const header = checkImage(input.imageBytes, input.imageParam);
  const cold = modelStore.state !== "ready";
  // a shared load, or a new model's load in the background, outlives its request
  const model = await detach(
    c,
    modelStore.get(c.env.WEIGHTS, (work) => void detach(c, work), c.env as unknown as OpenEnv),
  );
  const modelReadyAt = performance.now();
  const side = model.config.vision.imageSize;
  const decode = () => decodeImage(input.imageBytes, input.imageParam, side, header);
  // a follow-up on an image whose vision output the model keeps needs no pixels: its decode is deferred
  // to the engine, which runs it only if the request's plan needs the encoder after all (docs/cost.md)
  const key = c.env.VISION_CACHE === "off" ? null : await imageKey(input.imageBytes);
  const image = key !== null && model.cachedVision(key, null) ? null : await decode();
  const imageDecodedAt = performance.now();
  setMetric(c, "model", modelReadyAt - arrivedAt, cold ? "Model load (cold)" : "Model wait (warm)");
  setMetric(c, "image", imageDecodedAt - modelReadyAt, "Image decode");
  const cancel = new AbortController();
  const signal = c.req.raw.signal;
  if (signal.aborted) cancel.abort();
  else signal.addEventListener("abort", () => cancel.abort(), { once: true });
  const answer = startAnswer(model, {
    image: image ?? decode,
    imageDecoded: image !== null,
    question: input.question,
    maxTokens: input.maxTokens,
    sampling: input.sampling,
    atp: input.atp,
    arrivedAt,
    signal: cancel.signal,
    rid: crypto.randomUUID(),
    imageFormat: header.format,
    imagePixels: header.width * header.height,
    imageBytes: input.imageBytes.length,
    inputPixels: image ? image.width * image.height : header.width * header.height,
    imageKey: key,
    defaultCpuBudgetMs: cpuBudgetVar(c.env.CPU_BUDGET_MS),
  });
  const marks: RequestMarks = {
    route: c.req.path,
    model: c.env.MODEL_ID,
    budget: input.atp.budget ?? null,
    cold,
    arrivedEpochMs,
    arrivedAt,
    imageDecodedAt,
    modelReadyAt,
    tokenAt: [],
    thumb: null,
  };
  const observed = observe(answer, marks, (o) => {
    marks.thumb = thumbFor(key, image, side);
    finishMetrics(c, o, marks);
  });
  return { answer: observed, cancel };
}

/** Thumbnails of recent images by key, for the metrics of follow-ups whose pixels were never decoded. */
const thumbs = new RecentMap<Thumbnail>(VISION_CACHE_ENTRIES);

/** The metrics thumbnail of a request's image: made from its pixels, else the one kept for its key. */
function thumbFor(key: string | null, image: ImageInput | null, side: number): Thumbnail | null {
  if (!image) return key !== null ? (thumbs.get(key) ?? null) : null;
  const t = thumbnail(image, side);
  if (key !== null) thumbs.set(key, t);
  return t;
}

/** CPU_BUDGET_MS as a number, null when unset, empty or not a positive number. */
export function cpuBudgetVar(v: string | undefined): number | null {
  const n = v ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
}

/**
 * Keeps `work` running after the client leaves. When a client disconnects, workerd drops the request's
 * pending continuations; a generation dropped that way would hold the model's lock for good and hang
 * every later request. Registered with waitUntil, it runs on, sees the cancel signal at its next step
 * and releases the model.
 */
export function detach<T>(c: Context<AppEnv>, work: Promise<T>): Promise<T> {
  try {
    c.executionCtx.waitUntil(work.catch(() => undefined)); // the caller handles the rejection
  } catch {
    // no execution context (app.fetch called without one): nothing cancels the request either
  }
  return work;
}

/** Runs an answer to its end (non-streaming routes), detached from the request (see `detach`). */
export function drain(c: Context<AppEnv>, answer: AsyncGenerator<unknown, Outcome>): Promise<Outcome> {
  const run = async () => {
    for (;;) {
      const r = await answer.next();
      if (r.done) return r.value;
    }
  };
  return detach(c, run());
}

/** A finished request as logged (one JSON line each; the tests read `recentOutcomes`). */
export interface OutcomeRecord {
  /** The request's id, as in its metrics record: the Tail Worker (worker/tail/) joins its trace on it. */
  rid: string;
  route: string;
  stoppedBy: StopReason;
  tokens: number;
  ttftMs: number;
  decodeMsPerToken: number;
  requestMs: number;
}

/** The last few outcomes of this isolate, newest last. */
export const recentOutcomes: OutcomeRecord[] = [];
const RECENT_OUTCOMES = 32;

/** Logs a finished request. */
export function logOutcome(route: string, o: Outcome): void {
  const t = o.done.stats.timings;
  const rec: OutcomeRecord = {
    rid: o.rid,
    route,
    stoppedBy: o.stoppedBy,
    tokens: o.done.stats.generatedTokens,
    ttftMs: t.ttftMs,
    decodeMsPerToken: t.decodeMsPerToken,
    requestMs: o.elapsedMs,
  };
  recentOutcomes.push(rec);
  if (recentOutcomes.length > RECENT_OUTCOMES) recentOutcomes.shift();
  console.log(JSON.stringify({ event: "answer", ...rec }));
}
