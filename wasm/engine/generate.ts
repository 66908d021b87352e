// Events and statistics of one generation (the engine's public output), and the helpers that fill them.
import type { SamplingOptions } from "./sampler";
import type { Tracer } from "./context";
import type { PruningPolicy } from "../pruning/policy";

/** Options of `Model.generate`. */
export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate (stop tokens excluded); default 32. */
  maxTokens?: number;
  /** Ids that end the answer (not emitted); default [eos_token_id]. */
  stopTokens?: number[];
  /**
   * Asked before each decode step: true ends the answer there with finishReason "length" and the usual
   * done event (the Worker's deadline and client-disconnect checks).
   */
  shouldStop?: () => boolean;
  /** Visual-token pruning policy; default `none`. A policy instance serves one request. */
  policy?: PruningPolicy;
  /** Receives named intermediates (parity tests); makes prefill compute logits of every row. */
  trace?: Tracer;
}

/** One generated token. `ms` is the time it took: the time to first token for index 0. */
export interface TokenEvent {
  type: "token";
  index: number;
  id: number;
  /** Text this token adds to the answer so far. */
  text: string;
  ms: number;
}

/** Prefill timing breakdown and per-token figures, in milliseconds. */
export interface Timings {
  preprocessMs: number;
  visionMs: number;
  visionLayersMs: number[];
  projectorMs: number;
  /** LLM prefill: all layers and the first logits. */
  prefillMs: number;
  /** Each LLM layer in prefill, its pruning step (policy calls, compaction) included. */
  llmLayersMs: number[];
  /** The pruning part of each llmLayersMs entry (the policy's overhead; attention capture excluded). */
  pruneMsPerLayer: number[];
  /** From the call to the first token chosen. */
  ttftMs: number;
  /** Mean time of a decode step (one token after the first, stop token included); 0 if none. */
  decodeMsPerToken: number;
  /** Engine time: ttft + every decode step (time the consumer holds a token event is excluded). */
  totalMs: number;
}

/** What a finished generation reports. */
export interface GenerateStats {
  method: string;
  promptTokens: number;
  generatedTokens: number;
  finishReason: "stop" | "length";
  timings: Timings;
  visualTokens: {
    /** Visual tokens alive entering each LLM layer. */
    perLayer: number[];
    /** Grid indices (row-major over the image's token grid) of the visual tokens entering each layer. */
    indexPerLayer: number[][];
    /** Visual tokens before pruning (image_seq_length). */
    total: number;
    /** mean(perLayer) / total: the paper's way of counting (all layers, unpruned ones included). */
    meanFraction: number;
  };
  /** Multiply-accumulates of the LLM prefill (what pruning saves). */
  llmPrefillMacs: number;
  /** Linear memory of the model's kernel instance (it never shrinks: the peak). */
  peakMemoryBytes: number;
}

/** The last event: the whole answer and the stats. */
export interface DoneEvent {
  type: "done";
  text: string;
  ids: number[];
  stats: GenerateStats;
}

export type GenerateEvent = TokenEvent | DoneEvent;

/** Milliseconds from a monotonic clock (performance.now exists in Node and workerd). */
export const now = (): number => performance.now();

/**
 * Serialises requests on one model: its activation buffers and KV caches serve one at a time.
 * Waiters poll on their own timers instead of awaiting a promise that the holder resolves: workerd
 * forbids settling a promise from another request's context (the waiter then hangs), and a request's
 * own timer always fires in its own context.
 */
export class Mutex {
  private held = false;
  /** Resolves with the release function once the lock is free; polls every `pollMs`. */
  async acquire(pollMs = 1): Promise<() => void> {
    while (this.held) await new Promise<void>((r) => setTimeout(r, pollMs));
    this.held = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held = false;
    };
  }
}
