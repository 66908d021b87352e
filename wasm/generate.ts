// The generate loop: a loaded model (its kernel instance and linear memory, weights, buffers and tokenizer)
// and its one entry point `generate(image, prompt, options)`: preprocess -> vision encoder -> projector ->
// LLM prefill (with the pruning policy) -> decode loop, as an async iterator of token events with timings
// and a final event with the stats. Built by wasm/loader.ts; the worker and the tools use it through
// wasm/index.ts.
import { gridSide, type ModelConfig } from "./config";
import { preprocess, type ImageInput } from "./model/preprocess";
import { visionForward, visionMacs, type VisionRows } from "./model/vision";
import { projectorForward } from "./model/projector";
import { decodeStep, prefill } from "./model/decoder";
import { NoPruning } from "./pruning/none";
import type { PruningPolicy } from "./pruning/policy";
import type { VisionReduction } from "./pruning/vision";
import { rdotLowering, type KernelBuildName, type Ptr, type RdotLowering } from "./kernels";
import type { TextTokenizer } from "./tokenizer";
import { now } from "./engine/clock";
import { f32View, type Engine, type Tracer } from "./engine/context";
import { ModelQueue, QueueLeft, type Ticket } from "./engine/queue";
import { Sampler, type SamplingOptions } from "./engine/sampler";
import type { Precision } from "./engine/weights";
import { costRowOf, measuredPruneMs, predictCost, type CostTable, type PlatformCost } from "./engine/cost";
import { HostPace } from "./engine/pace";
import type { SplitStats } from "./split";
import { VISION_CACHE_ENTRIES, VisionCache, visionCacheKey, type CachedVision } from "./engine/vision-cache";

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
  /**
   * Patches dropped (or merged) inside the vision encoder before the policy runs (wasm/pruning/vision.ts,
   * validated there); default none. Not with a policy that reads the whole encoder output (afterVision).
   */
  vision?: VisionReduction | null;
  /** Receives named intermediates (parity tests); makes prefill compute logits of every row. */
  trace?: Tracer;
  /** This request's place in `model.queue`, taken at admission; default: one taken at the first step. */
  ticket?: Ticket;
  /** Aborting it while the request waits for the model takes it out of the queue (QueueLeft). */
  signal?: AbortSignal;
  /**
   * A content key of the image (the Worker's: SHA-256 of its file): the model reuses the vision output
   * stored under it and the vision reduction (wasm/engine/vision-cache.ts), else computes and stores it.
   * Not with a policy that reads the encoder's attention (afterVision) or a tracer: those always compute.
   */
  imageKey?: string;
}

/**
 * The image of a request: its pixels, or a function that decodes them, called only when the vision path
 * runs (not when the model has the image's vision output cached: a follow-up skips its decode too).
 */
export type ImageSource = ImageInput | (() => Promise<ImageInput>);

/** The pixels of `image`, decoded now if they were deferred. */
export async function imagePixels(image: ImageSource): Promise<ImageInput> {
  return typeof image === "function" ? image() : image;
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
  /** Waiting for the model behind earlier requests (the queue), before any of the figures below. */
  queueMs: number;
  preprocessMs: number;
  visionMs: number;
  visionLayersMs: number[];
  /** The vision reduction's own work (matching, merging), inside its layer's visionLayersMs entry. */
  visionReduceMs: number;
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
    /** perLayer[0] / total: the share of visual tokens entering the LLM (pre-LLM methods' counting). */
    inputFraction: number;
  };
  /** Multiply-accumulates of the LLM prefill (what pruning saves). */
  llmPrefillMacs: number;
  /** Multiply-accumulates of the vision tower and projector (a vision reduction makes them fewer). */
  visionMacs: number;
  /** Rows in each encoder layer run, and the rows the projector read (all patches without a reduction). */
  visionRows: { perLayer: number[]; out: number };
  /**
   * Key/value rows the prompt leaves in the KV caches, over all layers, against the unpruned prompt's
   * (what decode reads per token, and the cache's bytes).
   */
  kvFraction: number;
  /** Linear memory of the model's kernel instance (it never shrinks: the peak). */
  peakMemoryBytes: number;
  /** A split model's traffic between its stages (wasm/split.ts); absent in one isolate. */
  split?: SplitStats;
  /**
   * The vision output came from the model's cache (an image seen before, `imageKey`): no preprocessing,
   * encoder or projector ran (their timings and visionMacs are 0).
   */
  visionCached: boolean;
}

/** The last event: the whole answer and the stats. */
export interface DoneEvent {
  type: "done";
  text: string;
  ids: number[];
  stats: GenerateStats;
}

export type GenerateEvent = TokenEvent | DoneEvent;

/** The answer's text as its tokens arrive, and each token's piece of it (decoded whole each time). */
export class AnswerText {
  text = "";
  readonly ids: number[] = [];
  constructor(private readonly tokenizer: TextTokenizer) {}
  /** Adds token `id`; returns the text it adds. */
  add(id: number): string {
    this.ids.push(id);
    const full = this.tokenizer.decode(this.ids);
    const piece = full.startsWith(this.text) ? full.slice(this.text.length) : full;
    this.text = full;
    return piece;
  }
}

/** The answer's clock, shared by Model and SplitModel: TTFT from t0, then each decode step's time. */
export class TokenClock {
  ttft = 0;
  decodeMs = 0;
  steps = 0;

  constructor(private readonly t0: number) {}

  /** Token `i` was picked now; its step began at `tStart`. Returns its ms (TTFT for the first). */
  tick(i: number, tStart: number): number {
    const t = now();
    if (i === 0) return (this.ttft = t - this.t0);
    this.decodeMs += t - tStart;
    this.steps++;
    return t - tStart;
  }

  /** Mean over the decode steps (0 before the second token). */
  perStep(total: number): number {
    return this.steps > 0 ? total / this.steps : 0;
  }
}

/** The visual-token statistics of a prefill from its per-layer counts (and grid places). */
export function visualTokenStats(
  perLayer: number[],
  indexPerLayer: number[][],
  total: number,
): GenerateStats["visualTokens"] {
  return {
    perLayer,
    indexPerLayer,
    total,
    meanFraction: perLayer.reduce((a, b) => a + b, 0) / perLayer.length / total,
    inputFraction: perLayer[0] / total,
  };
}

/** Default answer length cap. */
export const DEFAULT_MAX_TOKENS = 32;

/**
 * After a vision reduction the projector wrote its rows [rows, Dt] at the top of b.visual: move row j to
 * the grid place grid[j] (ascending, so from the last down nothing is overwritten early) and zero the
 * dropped places. prefill then drops those <image> rows before layer 0.
 */
function scatterVisual(e: Engine, grid: Int32Array): void {
  const D = e.cfg.text.hidden;
  const n = e.cfg.imageSeqLength;
  const v = f32View(e, e.b.visual, n * D);
  const placed = new Uint8Array(n);
  for (let j = grid.length - 1; j >= 0; j--) {
    if (grid[j] !== j) v.copyWithin(grid[j] * D, j * D, (j + 1) * D);
    placed[grid[j]] = 1;
  }
  for (let g = 0; g < n; g++) if (!placed[g]) v.fill(0, g * D, (g + 1) * D);
}

/** What the vision path hands the LLM: visual tokens at b.visual (grid order), their patches, timings. */
interface VisionOutput {
  visual: Ptr;
  rows: VisionRows;
  /** Rows each encoder layer ran on. */
  rowsPerLayer: number[];
  layersMs: number[];
  reduceMs: number;
  preprocessMs: number;
  visionMs: number;
}

export class Model {
  /** Requests use the model one at a time, in arrival order (wasm/engine/queue.ts). */
  readonly queue = new ModelQueue();
  /** Vision outputs of recent images, by `imageKey` (wasm/engine/vision-cache.ts). */
  readonly visionCache = new VisionCache(VISION_CACHE_ENTRIES);
  /** The host's speed now against the cost table's row, from the requests served (wasm/engine/pace.ts). */
  readonly pace = new HostPace();
  /** The cost table's row for this platform (undefined: not looked up yet). */
  private row: PlatformCost | null | undefined;

  constructor(
    private readonly engine: Engine,
    readonly tokenizer: TextTokenizer,
    readonly precision: Precision,
    readonly info: {
      modelId: string;
      quantization: string;
      loadMs: number;
      weightsBytes: number;
      /** The kernel instance's linear memory: statics, weights and activations (the model's Wasm memory). */
      memoryBytes: number;
      /** Whether the shards were streamed into linear memory (else read whole first). */
      streamed: boolean;
      /** Its cost table (predicted CPU per request, budget points per method); null when it has none. */
      cost: CostTable | null;
    },
  ) {}

  get config(): ModelConfig {
    return this.engine.cfg;
  }

  /** Linear memory of this model's kernel instance, in bytes (the peak: it never shrinks). */
  get memoryBytes(): number {
    return this.engine.ops.k.memory.buffer.byteLength;
  }

  /** The kernel build this model's instance was compiled as (wasm/kernels.ts KERNEL_BUILDS). */
  get build(): KernelBuildName {
    return this.engine.ops.k.build;
  }

  /** How this engine runs the build's int8 dot: the host class (wasm/kernels.ts `rdotLowering`). */
  get int8Dot(): RdotLowering {
    return rdotLowering(this.engine.ops.k);
  }

  /** Which kernel variant each op runs (relaxed / simd / scalar / ts-fallback). */
  get kernels(): Record<string, string> {
    return { ...this.engine.ops.chosen };
  }

  /** The row of the model's cost table that predicts for this platform (null without a table). */
  get costRow(): PlatformCost | null {
    if (this.row === undefined) this.row = costRowOf(this.info.cost, this);
    return this.row;
  }

  /** Whether the vision output of image `imageKey` after `reduce` is cached (a plan may count on it). */
  cachedVision(imageKey: string, reduce: VisionReduction | null): boolean {
    return this.visionCache.has(visionCacheKey(imageKey, reduce));
  }

  /**
   * Answers `prompt` (question text, or its token ids) about `image`. Yields one event per generated
   * token, then a `done` event. Requests on one model run one at a time, in the order of their tickets;
   * the model is free for the next once the done event is out, or when the caller ends the iteration.
   */
  async *generate(
    image: ImageSource,
    prompt: string | readonly number[],
    options: GenerateOptions = {},
  ): AsyncGenerator<GenerateEvent> {
    const ticket = options.ticket ?? this.queue.enter();
    const queuedAt = now();
    await this.queue.turn(ticket, options.signal); // on failure the ticket has left the queue
    const e = this.engine;
    e.trace = options.trace ?? null;
    /** After each suspension: stop if the queue gave the model to the next request meanwhile. */
    const resumed = () => {
      if (ticket.lost) throw new QueueLeft("lost");
      this.queue.touch(ticket);
    };
    try {
      const cfg = e.cfg;
      const policy: PruningPolicy = options.policy ?? new NoPruning();
      const sampler = new Sampler(options);
      const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
      const stop = new Set(options.stopTokens ?? [cfg.eosId]);
      const ids = this.tokenizer.promptIds(prompt);

      const t0 = now();
      const queueMs = t0 - queuedAt;
      const reduce = options.vision ?? null;
      if (reduce && policy.afterVision)
        throw new Error(`${policy.name} reads the whole vision output: it cannot follow a vision reduction`);
      const cacheKey =
        options.imageKey !== undefined && !policy.afterVision && !e.trace
          ? visionCacheKey(options.imageKey, reduce)
          : null;
      const cached = cacheKey !== null ? this.visionCache.get(cacheKey) : undefined;
      let vision: VisionOutput;
      let inputPixels = 0;
      if (cached) vision = this.fromCache(cached);
      else {
        const pixels = await imagePixels(image); // a deferred decode runs here (the cache did not have it)
        resumed();
        inputPixels = pixels.width * pixels.height;
        vision = this.visionPath(pixels, policy, reduce, cacheKey);
      }
      const { visual, rows, rowsPerLayer: visionRowsPerLayer, layersMs: visionLayersMs, reduceMs } = vision;
      const reduced = rows.grid.length < cfg.imageSeqLength ? rows : null;
      if (reduced) scatterVisual(e, reduced.grid);
      const t3 = now();
      const llmLayersMs: number[] = [];
      let tl = t3;
      const pre = prefill(e, ids, visual, policy, () => llmLayersMs.push(-tl + (tl = now())), reduced);
      // the KV rows the prompt leaves (before decoding appends to every layer)
      const promptKvRows = pre.state.cacheLen.reduce((a, b) => a + b, 0);
      const t4 = now();

      const answer = new AnswerText(this.tokenizer);
      const out = answer.ids;
      let finishReason: "stop" | "length" = "length";
      const clock = new TokenClock(t0);
      for (let i = 0; i < maxTokens; i++) {
        const tStart = now();
        if (i > 0) {
          if (pre.state.nextPos >= cfg.text.maxPositions || options.shouldStop?.()) break;
          decodeStep(e, pre.state, out[out.length - 1]);
        }
        const logits = f32View(e, e.b.logits, cfg.text.vocabSize);
        const id = sampler.greedy ? e.ops.argmax(e.b.logits, cfg.text.vocabSize) : sampler.sample(logits);
        const ms = clock.tick(i, tStart);
        if (stop.has(id)) {
          finishReason = "stop";
          break;
        }
        const piece = answer.add(id);
        this.queue.touch(ticket);
        yield { type: "token", index: i, id, text: piece, ms };
        resumed();
      }
      const total = cfg.imageSeqLength;
      const timings: Timings = {
        queueMs,
        preprocessMs: vision.preprocessMs,
        visionMs: vision.visionMs,
        visionLayersMs,
        visionReduceMs: reduceMs,
        projectorMs: t3 - t0 - vision.preprocessMs - vision.visionMs,
        prefillMs: t4 - t3,
        llmLayersMs,
        pruneMsPerLayer: pre.pruneMsPerLayer,
        ttftMs: clock.ttft,
        decodeMsPerToken: clock.perStep(clock.decodeMs),
        totalMs: clock.ttft + clock.decodeMs,
      };
      const done: DoneEvent = {
        type: "done",
        text: answer.text,
        ids: out,
        stats: {
          method: policy.name,
          promptTokens: ids.length,
          generatedTokens: out.length,
          finishReason,
          timings,
          visualTokens: visualTokenStats(pre.visualPerLayer, pre.visualIndexPerLayer, total),
          llmPrefillMacs: pre.macs,
          visionMacs: cached ? 0 : visionMacs(e, visionRowsPerLayer, rows.grid.length),
          visionRows: { perLayer: visionRowsPerLayer, out: rows.grid.length },
          kvFraction: promptKvRows / (cfg.text.layers * ids.length),
          peakMemoryBytes: this.memoryBytes,
          visionCached: cached !== undefined,
        },
      };
      if (!e.trace) this.observePace(done.stats, inputPixels);
      e.trace = null;
      this.queue.leave(ticket); // the buffers are no longer read: the next request may start
      yield done;
    } finally {
      if (!ticket.lost) e.trace = null;
      this.queue.leave(ticket);
    }
  }

  /**
   * Preprocessing, the vision encoder (with `reduce`, and the policy's afterVision) and the projector:
   * the visual tokens at the top of b.visual, in grid order. Stored in the cache under `cacheKey`, if any.
   */
  private visionPath(
    image: ImageInput,
    policy: PruningPolicy,
    reduce: VisionReduction | null,
    cacheKey: string | null,
  ): VisionOutput {
    const e = this.engine;
    const cfg = e.cfg;
    const t0 = now();
    preprocess(e, image);
    const t1 = now();
    const layersMs: number[] = [];
    let tl = t1;
    const { feature, attention, rows, rowsPerLayer, reduceMs } = visionForward(
      e,
      () => layersMs.push(-tl + (tl = now())),
      policy.afterVision !== undefined,
      reduce,
    );
    if (policy.afterVision && attention) {
      const n = cfg.imageSeqLength;
      policy.afterVision({
        features: f32View(e, feature, n * cfg.vision.hidden),
        ...attention,
        numVisual: n,
        grid: gridSide(n),
      });
    }
    const t2 = now();
    const visual = projectorForward(e, feature, rows.grid.length);
    if (cacheKey !== null) {
      const out = f32View(e, visual, rows.grid.length * cfg.text.hidden).slice();
      this.visionCache.set(cacheKey, { visual: out, grid: rows.grid, sizes: rows.sizes, rowsPerLayer });
    }
    return { visual, rows, rowsPerLayer, layersMs, reduceMs, preprocessMs: t1 - t0, visionMs: t2 - t1 };
  }

  /** A cached vision output copied to the top of b.visual, as visionPath leaves it. */
  private fromCache(c: CachedVision): VisionOutput {
    const e = this.engine;
    f32View(e, e.b.visual, c.visual.length).set(c.visual);
    return {
      visual: e.b.visual,
      rows: { grid: c.grid, sizes: c.sizes }, // read only downstream (prefill compacts into new arrays)
      rowsPerLayer: [...c.rowsPerLayer], // the stats hand it out
      layersMs: [],
      reduceMs: 0,
      preprocessMs: 0,
      visionMs: 0,
    };
  }

  /**
   * The finished request's time to first token against the cost table's prediction at the counts it had
   * (its own pruning time as measured: the ratio is the host's, not the method's), into `pace`.
   */
  private observePace(s: DoneEvent["stats"], inputPixels: number): void {
    const row = this.costRow;
    if (!row) return;
    const t = s.timings;
    const predicted = predictCost(row.rates, {
      imageFormat: "raw",
      imagePixels: inputPixels,
      inputPixels,
      promptTokens: s.promptTokens,
      numVisual: this.config.imageSeqLength,
      visualPerLayer: s.visualTokens.perLayer,
      visionRows: s.visionRows.perLayer,
      visionCached: s.visionCached,
      pruneMs: measuredPruneMs(t),
      tokens: 1,
    });
    this.pace.observe(t.ttftMs, predicted.ttftMs);
  }

  /** Runs `generate` to the end and returns the done event (tools and tests). */
  async run(image: ImageSource, prompt: string | readonly number[], options: GenerateOptions = {}) {
    for await (const ev of this.generate(image, prompt, options)) if (ev.type === "done") return ev;
    throw new Error("generate ended without a done event");
  }
}
