// One request's metrics as the store keeps them (worker/metrics/store.ts) and the dashboard reads them:
// latency (time to first token from arrival, then each token's gap), the prefill breakdown, what pruning
// kept, and a thumbnail of the image as the model saw it. Built from the answer's Outcome after the
// response (worker/serve/request.ts), so it only copies what the engine already measured.
import type { Outcome } from "../serve/answer";
import type { Thumbnail } from "./thumbnail";

/** The prefill breakdown, milliseconds. Parts of the time to first token; `other` is the rest. */
export interface Breakdown {
  /** Image bytes to pixels (worker/image). */
  image_decode: number;
  /** Waiting for the model: the weights' load on a cold start, another request's turn otherwise. */
  model_wait: number;
  preprocess: number;
  vision: number;
  projector: number;
  /** Each LLM layer's compute in prefill (its pruning step excluded). */
  llm_layers: number[];
  /** The pruning policy's work in prefill (scores, selection, compaction): ATP's overhead. */
  pruning: number;
  /** Waiting behind earlier requests for the model (its queue, wasm/engine/queue.ts). */
  queue: number;
  /** Time to first token not in the parts above: final norm, lm_head, sampling, the event loop. */
  other: number;
}

/** A recorded request. */
export interface MetricsRecord {
  /** The request's id (its log line carries it too; the Tail Worker's trace joins on it). */
  rid: string;
  /** Milliseconds since the epoch at arrival. */
  ts: number;
  route: string;
  model: string;
  method: string;
  budget: number | null;
  /** True when this request had to load the model (first request of an isolate). */
  cold: boolean;
  /**
   * True when the model reused the vision output of an image it had seen (a follow-up question on the
   * same file: no decode, encoder or projector; docs/cost.md "Repeated images"). Rows recorded before
   * the field existed read false.
   */
  vision_cached: boolean;
  stopped_by: string;
  prompt_tokens: number;
  /** Arrival to the first token, ms. */
  ttft_ms: number;
  /** Gap before each generated token after the first, ms (the inter-token latencies). */
  itl_ms: number[];
  /** Arrival to the end of generation, ms. */
  request_ms: number;
  breakdown: Breakdown;
  /** Visual tokens alive entering each LLM layer, and before pruning. */
  visual_per_layer: number[];
  visual_total: number;
  /** Grid indices kept entering each LLM layer (row-major over a grid x grid token grid). */
  kept_per_layer: number[][];
  grid: number;
  llm_prefill_macs: number;
  /**
   * Whether the in-process clock ran during the request ("running": wrangler dev, workerd locally) or
   * stood still ("frozen": Cloudflare's network, where clocks advance only at I/O, so the measured figures
   * above read ~0 for compute).
   */
  clock: "running" | "frozen";
  /** The cost model's estimate for this request (worker/serve/budget.ts estimateFor); null without a table. */
  estimate: { ttft_ms: number; itl_ms: number; cpu_ms: number } | null;
  thumb: Thumbnail | null;
}

/** What the request path measured besides the engine's stats. */
export interface RequestMarks {
  route: string;
  model: string;
  budget: number | null;
  cold: boolean;
  /** Date.now() at arrival (the record's timestamp). */
  arrivedEpochMs: number;
  /** performance.now() at arrival, once the model was in hand, after the image decode. */
  arrivedAt: number;
  modelReadyAt: number;
  imageDecodedAt: number;
  /** performance.now() when each token event reached the request path. */
  tokenAt: number[];
  thumb: Thumbnail | null;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const ms = (x: number) => Math.round(x * 1000) / 1000; // microsecond resolution keeps the rows small

/** The record of a finished answer. */
export function buildRecord(o: Outcome, m: RequestMarks): MetricsRecord {
  const s = o.done.stats;
  const t = s.timings;
  const ttft = m.tokenAt.length > 0 ? m.tokenAt[0] - m.arrivedAt : o.elapsedMs;
  const pruneMs = t.pruneMsPerLayer ?? [];
  const layers = t.llmLayersMs.map((x, l) => ms(x - (pruneMs[l] ?? 0)));
  const modelWait = m.modelReadyAt - m.arrivedAt;
  const imageDecode = m.imageDecodedAt - m.modelReadyAt;
  const pruning = sum(pruneMs);
  const parts =
    imageDecode + modelWait + t.queueMs + t.preprocessMs + t.visionMs + t.projectorMs + sum(layers) + pruning;
  const visualTotal = s.visualTokens.total;
  return {
    rid: o.rid,
    ts: m.arrivedEpochMs,
    route: m.route,
    model: m.model,
    method: s.method,
    budget: m.budget,
    cold: m.cold,
    vision_cached: s.visionCached,
    stopped_by: o.stoppedBy,
    prompt_tokens: s.promptTokens,
    ttft_ms: ms(ttft),
    itl_ms: m.tokenAt.slice(1).map((at, i) => ms(at - m.tokenAt[i])),
    request_ms: ms(o.elapsedMs),
    breakdown: {
      image_decode: ms(imageDecode),
      model_wait: ms(modelWait),
      preprocess: ms(t.preprocessMs),
      vision: ms(t.visionMs),
      projector: ms(t.projectorMs),
      llm_layers: layers,
      pruning: ms(pruning),
      queue: ms(t.queueMs),
      other: ms(Math.max(0, ttft - parts)),
    },
    visual_per_layer: s.visualTokens.perLayer,
    visual_total: visualTotal,
    kept_per_layer: s.visualTokens.indexPerLayer ?? [],
    grid: Math.round(Math.sqrt(visualTotal)),
    llm_prefill_macs: s.llmPrefillMacs,
    clock: t.totalMs > 0 ? "running" : "frozen",
    estimate: o.estimate
      ? { ttft_ms: ms(o.estimate.ttft_ms), itl_ms: ms(o.estimate.itl_ms), cpu_ms: ms(o.estimate.cpu_ms) }
      : null,
    thumb: m.thumb,
  };
}
