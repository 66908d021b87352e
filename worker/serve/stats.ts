// The `atp` object of responses: what pruning did (visual tokens alive entering each LLM layer), the
// deadline and why the answer ended, and the engine's timings (milliseconds), in snake_case.
import type { AtpRequest } from "../schemas/atp";
import type { Outcome } from "./answer";

/** The `atp` response extension. */
export function atpStats(atp: AtpRequest, o: Outcome) {
  const s = o.done.stats;
  const t = s.timings;
  return {
    method: s.method,
    budget: atp.budget ?? null,
    knobs: o.budget?.knobs ?? atp.knobs ?? null,
    cpu_budget: o.budget,
    /** The vision reduction run (asked for, or chosen by the CPU budget); null for none. */
    vision: o.vision,
    vision_rows: s.visionRows,
    /** The vision output came from the model's cache (the same image asked about before). */
    vision_cached: s.visionCached,
    /** The cost model's figures for this request (true where clocks do not run); null without a table. */
    cpu_estimate: o.estimate,
    deadline_ms: o.deadlineMs,
    deadline_hit: o.stoppedBy === "deadline" || o.elapsedMs > o.deadlineMs,
    stopped_by: o.stoppedBy,
    visual_tokens: {
      per_layer: s.visualTokens.perLayer,
      total: s.visualTokens.total,
      mean_fraction: s.visualTokens.meanFraction,
      input_fraction: s.visualTokens.inputFraction,
    },
    kv_fraction: s.kvFraction,
    llm_prefill_macs: s.llmPrefillMacs,
    vision_macs: s.visionMacs,
    // a model split across stage Workers (docs/split.md): what crossed between them
    ...(s.split
      ? {
          split: {
            stages: s.split.stages,
            bytes_moved: s.split.bytesMoved,
            bytes_per_decoded_token: s.split.bytesPerDecodedToken,
            overhead_ms_per_token: s.split.overheadMsPerToken,
          },
        }
      : {}),
    timings: {
      queue_ms: t.queueMs,
      preprocess_ms: t.preprocessMs,
      vision_ms: t.visionMs,
      projector_ms: t.projectorMs,
      prefill_ms: t.prefillMs,
      llm_layers_ms: t.llmLayersMs,
      ttft_ms: t.ttftMs,
      decode_ms_per_token: t.decodeMsPerToken,
      engine_ms: t.totalMs,
      request_ms: o.elapsedMs,
    },
  };
}

/** OpenAI `usage`. */
export function usage(o: Outcome) {
  const s = o.done.stats;
  return {
    prompt_tokens: s.promptTokens,
    completion_tokens: s.generatedTokens,
    total_tokens: s.promptTokens + s.generatedTokens,
  };
}
