// One answer from the model: the prompt checked against the context, the pruning policy chosen, the
// request admitted to the model's queue (wasm/engine/queue.ts) or refused at once, and the engine's token
// stream wrapped with the request's deadline and cancellation (checked by the engine before each decode
// step through `shouldStop`) and a yield to the event loop after every token, so SSE chunks leave as
// tokens are made and a client's disconnect (an abort event) is seen in time.
//
// CPU budget: with `atp.cpu_budget_ms` (or the deployment's CPU_BUDGET_MS) the pruning is chosen from
// the model's cost table so that the predicted cost fits (worker/serve/budget.ts), before admission.
//
// Admission: a request is refused with 503 `overloaded` when MAX_QUEUED_REQUESTS already wait, when its
// decoded image would take the queued images past MAX_QUEUED_IMAGE_BYTES, or when the work queued ahead
// of it (the queue's predicted wait) would end past its deadline. Retry-After is the predicted time for the queue
// to drain, spread by up to half again at random so that refused clients do not all return at once
// (also in ms as retry-after-ms). Admitted requests take their ticket at once, so the model
// serves them in arrival order.
import {
  createPolicy,
  DEFAULT_MAX_TOKENS,
  defaultMethod,
  KnobError,
  methodUnavailable,
  QueueLeft,
  visionLayersRun,
  visionReduction,
  type Ticket,
  type VisionReduction,
  type DoneEvent,
  type ImageFormat,
  type MethodName,
  type ImageSource,
  type ServedModel as Model,
  type PruningPolicy,
  type SamplingOptions,
  type TokenEvent,
} from "../../wasm/index";
import { ApiError, badRequest } from "../errors";
import { DEFAULT_DEADLINE_MS, MAX_QUEUED_IMAGE_BYTES, MAX_QUEUED_REQUESTS } from "../limits";
import type { AtpRequest } from "../schemas/atp";
import { budgetFor, estimateFor, type BudgetReport, type CostEstimate } from "./budget";

/** What one request asks of the model. */
export interface Job {
  /** The pixels, or their decode when deferred (an image whose vision output the model keeps). */
  image: ImageSource;
  /** Whether the pixels are decoded already (the CPU budget then counts the decode at every point). */
  imageDecoded: boolean;
  question: string;
  maxTokens?: number;
  sampling: SamplingOptions;
  atp: AtpRequest;
  /** performance.now() at arrival; the deadline counts from here. */
  arrivedAt: number;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** This request's id: in its log line and its metrics record, where the Tail Worker finds it. */
  rid: string;
  /** The image as it came (the cost model's decode term) and the deployment's CPU_BUDGET_MS. */
  imageFormat: ImageFormat;
  imagePixels: number;
  /** Pixels of the decoded image (a JPEG's DCT scale makes them fewer). */
  inputPixels: number;
  imageBytes: number;
  defaultCpuBudgetMs: number | null;
  /** The image's content key (worker/image/source.ts imageKey) for the model's vision cache; null: off. */
  imageKey: string | null;
}

/** Why the answer ended. */
export type StopReason = "eos" | "max_tokens" | "context" | "deadline" | "cancelled";

/** The finished answer. */
export interface Outcome {
  done: DoneEvent;
  stoppedBy: StopReason;
  deadlineMs: number;
  /** Wall time from arrival to the end of generation. */
  elapsedMs: number;
  /** The CPU budget's choice, when one applied (worker/serve/budget.ts). */
  budget: BudgetReport | null;
  /** The vision reduction run (wasm/pruning/vision.ts), or null. */
  vision: VisionReduction | null;
  /** The cost model's figures at the request's real counts (null without a cost table). */
  estimate: CostEstimate | null;
  /** The request's id (Job.rid). */
  rid: string;
}

const now = () => performance.now();
const nextTask = () =>
  typeof scheduler !== "undefined" ? scheduler.wait(0) : new Promise((r) => setTimeout(r, 0));

/**
 * Checks the request against the model (context length, load) and returns the answer's token stream,
 * whose return value is the Outcome. Throws ApiError before anything is generated.
 */
export function startAnswer(model: Model, job: Job): AsyncGenerator<TokenEvent, Outcome> {
  const question = model.tokenizer.encode(job.question);
  const promptLength = model.tokenizer.promptIds(question).length;
  const context = model.config.text.maxPositions;
  if (promptLength >= context) {
    throw badRequest(
      `The prompt is ${promptLength} tokens with the image; this model's context is ${context}`,
      "context_length_exceeded",
      "messages",
    );
  }
  // The first token needs no position; each later one takes one.
  const maxTokens = Math.min(job.maxTokens ?? DEFAULT_MAX_TOKENS, context - promptLength + 1);
  const method = job.atp.method ?? defaultMethod(model.config);
  const deadlineMs = job.atp.deadline_ms ?? DEFAULT_DEADLINE_MS;
  const budget = budgetFor(model, {
    method,
    atp: job.atp,
    defaultMs: job.defaultCpuBudgetMs,
    imageFormat: job.imageFormat,
    imagePixels: job.imagePixels,
    inputPixels: job.inputPixels,
    imageBytes: job.imageBytes,
    promptTokens: promptLength,
    maxTokens,
    leftMs: deadlineMs - (now() - job.arrivedAt) - model.queue.expectedWaitMs(),
    visionCached: (v) => job.imageKey !== null && model.cachedVision(job.imageKey, v),
    imageDecoded: job.imageDecoded,
  });
  const policy = policyFor(model, method, budget ? { knobs: budget.choice.point.knobs } : job.atp);
  const vision = budget ? (budget.choice.point.vision ?? null) : visionFor(model, job.atp.vision, policy);
  const ticket = admit(model, job);
  return run(model, job, question, maxTokens, policy, ticket, budget?.report ?? null, vision);
}

/** 503 overloaded with the queue's predicted drain time as Retry-After. */
function overloaded(model: Model, why: string): ApiError {
  return new ApiError(
    503,
    `The model is busy: ${why}; retry after the Retry-After seconds`,
    "service_unavailable",
    "overloaded",
    null,
    model.queue.drainMs() * (1 + 0.5 * Math.random()),
  );
}

/** A place in the model's queue, or 503 when the request cannot be served in time. */
function admit(model: Model, job: Job): Ticket {
  const q = model.queue;
  if (q.waiting >= MAX_QUEUED_REQUESTS) throw overloaded(model, `${q.waiting} requests are waiting`);
  // pixels a queued request holds (a deferred decode holds none while it waits)
  const bytes = typeof job.image === "function" ? 0 : job.image.data.byteLength;
  if (q.length > 0 && q.bytes + bytes > MAX_QUEUED_IMAGE_BYTES) {
    throw overloaded(model, `the queued requests' images already take ${Math.round(q.bytes / 2 ** 20)} MB`);
  }
  const deadlineMs = job.atp.deadline_ms ?? DEFAULT_DEADLINE_MS;
  // the work queued ahead: a request that could start in time is admitted, and its own deadline then
  // ends its answer early if need be (finish_reason "length")
  const predicted = now() - job.arrivedAt + q.expectedWaitMs();
  if (q.length > 0 && predicted > deadlineMs) {
    throw overloaded(model, `the queue ahead would end this request past its ${deadlineMs} ms deadline`);
  }
  return q.enter(bytes);
}

/** The request's pruning policy; 400 for a method this model cannot run or knobs the method refuses. */
function policyFor(
  model: Model,
  method: MethodName,
  atp: Pick<AtpRequest, "budget" | "knobs">,
): PruningPolicy {
  const why = methodUnavailable(method, model.config);
  if (why) throw badRequest(why, "method_unavailable", "atp.method");
  const knobs = { ...atp.knobs, ...(atp.budget === undefined ? {} : { budget: atp.budget }) };
  try {
    return createPolicy(method, knobs);
  } catch (err) {
    if (!(err instanceof KnobError)) throw err;
    const param = Object.hasOwn(atp.knobs ?? {}, err.knob) ? `atp.knobs.${err.knob}` : `atp.${err.knob}`;
    throw badRequest(`Invalid atp options: ${err.message}`, "invalid_atp_options", param);
  }
}

/** The request's `atp.vision`, checked against the model and the method (400 invalid_atp_options). */
function visionFor(model: Model, raw: AtpRequest["vision"], policy: PruningPolicy): VisionReduction | null {
  if (!raw) return null;
  if (policy.afterVision)
    throw badRequest(
      `Invalid atp options: ${policy.name} reads the whole vision output, so it cannot follow atp.vision`,
      "invalid_atp_options",
      "atp.vision",
    );
  try {
    return visionReduction(raw, model.config, visionLayersRun(model.config));
  } catch (err) {
    if (!(err instanceof KnobError)) throw err;
    throw badRequest(`Invalid atp options: ${err.message}`, "invalid_atp_options", `atp.vision.${err.knob}`);
  }
}

async function* run(
  model: Model,
  job: Job,
  question: number[],
  maxTokens: number,
  policy: PruningPolicy,
  ticket: Ticket,
  budget: BudgetReport | null,
  vision: VisionReduction | null,
): AsyncGenerator<TokenEvent, Outcome> {
  const deadlineMs = job.atp.deadline_ms ?? DEFAULT_DEADLINE_MS;
  let lastTokenMs = 0;
  let pastDeadline = false;
  // Stop before a step that would end past the deadline (steps take about as long as the last one).
  const shouldStop = () => {
    if (job.signal.aborted) return true;
    pastDeadline = now() - job.arrivedAt + lastTokenMs >= deadlineMs;
    return pastDeadline;
  };
  // While it waits, the request leaves the queue when the client goes or its deadline passes.
  const leave = new AbortController();
  const onAbort = () => leave.abort();
  job.signal.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(onAbort, Math.max(0, deadlineMs - (now() - job.arrivedAt)));
  try {
    const events = model.generate(job.image, question, {
      ...job.sampling,
      maxTokens,
      policy,
      vision,
      shouldStop,
      ticket,
      signal: leave.signal,
      ...(job.imageKey !== null ? { imageKey: job.imageKey } : {}),
    });
    for await (const ev of events) {
      if (ev.type === "done") {
        const s = ev.stats;
        const stoppedBy: StopReason = job.signal.aborted
          ? "cancelled"
          : s.finishReason === "stop"
            ? "eos"
            : pastDeadline
              ? "deadline"
              : s.generatedTokens >= maxTokens
                ? "max_tokens"
                : "context";
        const estimate = estimateFor(model, s.method, {
          imageFormat: job.imageFormat,
          imagePixels: job.imagePixels,
          inputPixels: job.inputPixels,
          imageBytes: job.imageBytes,
          promptTokens: s.promptTokens,
          visualPerLayer: s.visualTokens.perLayer,
          visionRows: s.visionRows.perLayer,
          visionCached: s.visionCached,
          decodeSkipped: s.visionCached && !job.imageDecoded,
          // the steps made: the stop token's included
          tokens: s.generatedTokens + (s.finishReason === "stop" ? 1 : 0),
        });
        const elapsedMs = now() - job.arrivedAt;
        return { done: ev, stoppedBy, deadlineMs, elapsedMs, budget, vision, estimate, rid: job.rid };
      }
      lastTokenMs = ev.ms;
      yield ev;
      await nextTask();
    }
    throw new Error("the engine ended without a done event");
  } catch (err) {
    if (!(err instanceof QueueLeft)) throw err;
    if (job.signal.aborted)
      throw badRequest("The client closed the request before the model was free", "request_cancelled");
    throw overloaded(
      model,
      err.why === "lost"
        ? "this request stalled and lost its turn"
        : `it waited past its ${deadlineMs} ms deadline`,
    );
  } finally {
    clearTimeout(timer);
    job.signal.removeEventListener("abort", onAbort);
    model.queue.leave(ticket); // if the generation never started
  }
}
