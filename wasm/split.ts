// A model split across stages (docs/split.md): each stage loads one part of the model (wasm/names.ts
// ModelPart: the vision tower + projector, or a run of decoder layers) into its own kernel instance, and
// a SplitModel drives them in order through StageLinks -- in-process here, Durable Objects reached over
// service bindings in the Worker (worker/stage/). What travels between stages: the visual tokens, the
// hidden states of the rows alive and their carry (positions, grid places, merge sizes, the pruning stats),
// one hidden row per decoded token, and the token chosen. Each stage keeps the KV caches of its own layers
// for the request's session, so decoding returns to the same stages. The forward is the engine's own
// (wasm/model/*: prefillBegin / prefillLayers / prefillEnd, decodeLayers): the split is configuration.
import type { ModelConfig } from "./config";
import { f32View, type Engine } from "./engine/context";
import { now } from "./engine/clock";
import { ModelQueue, QueueLeft } from "./engine/queue";
import { costRowOf, type PlatformCost } from "./engine/cost";
import { HostPace } from "./engine/pace";
import { Sampler } from "./engine/sampler";
import {
  AnswerText,
  imagePixels,
  TokenClock,
  visualTokenStats,
  type DoneEvent,
  type GenerateEvent,
  type GenerateOptions,
  type ImageSource,
  type Model,
  type Timings,
} from "./generate";
import {
  decodeHead,
  decodeLayers,
  embedRow,
  policyContext,
  prefillBegin,
  prefillEnd,
  prefillLayers,
  type DecoderState,
  type PrefillCarry,
} from "./model/decoder";
import { preprocess, type ImageInput } from "./model/preprocess";
import { projectorForward } from "./model/projector";
import { visionForward, visionMacs } from "./model/vision";
import { parsePart, type ModelPart } from "./names";
import type { PruningPolicy } from "./pruning/policy";
import { createPolicy, isMethod } from "./pruning/registry";
import type { TextTokenizer } from "./tokenizer";
import { loadEngine, readModelHead, type LoadOptions } from "./loader";
import type { ByteSource } from "./source";

/** The method and knobs a request's policy was made from; every stage makes the same one again. */
export interface PolicySpec {
  method: string;
  knobs: object;
}

/** The prefill carry as it travels: everything but the stage-local KV-cache lengths. */
export interface WireCarry extends Omit<PrefillCarry, "state"> {
  nextPos: number;
  biased: boolean;
}

/** What the vision stage returns: the projected visual tokens [Nv, Dt] and its work. */
export interface EncodeReply {
  visual: Float32Array;
  preprocessMs: number;
  visionMs: number;
  visionLayersMs: number[];
  projectorMs: number;
  visionMacs: number;
}

/** A prefill through one decoder stage. */
export interface PrefillRequest {
  session: string;
  /** The prompt ids (each stage reads the instruction for its policy). */
  ids: number[];
  policy: PolicySpec;
  /** First decoder stage: the visual tokens [Nv, Dt]. */
  visual?: Float32Array;
  /** Later stages: the carry and hidden states [rows, Dt] the previous stage left. */
  carry?: WireCarry;
  hidden?: Float32Array;
  /** The last stage picks the token (greedy: argmax) instead of returning the logits. */
  greedy: boolean;
}

/** What a decoder stage returns: the carry on, and the hidden rows or (last stage) the token/logits. */
export interface StageReply {
  carry?: WireCarry;
  hidden?: Float32Array;
  token?: number;
  logits?: Float32Array;
  /** Time of each of its layers (prefill) or of the whole step (decode), ms. */
  layerMs: number[];
}

/** One decode step through one decoder stage. */
export interface DecodeRequest {
  session: string;
  pos: number;
  /** First decoder stage: the previous token. */
  token?: number;
  /** Later stages: the hidden row [Dt]. */
  hidden?: Float32Array;
  greedy: boolean;
}

/** A stage as the SplitModel sees it (in-process, or a Durable Object's RPC methods). */
export interface StageLink {
  readonly part: ModelPart;
  encode(image: ImageInput): Promise<EncodeReply>;
  prefill(req: PrefillRequest): Promise<StageReply>;
  decode(req: DecodeRequest): Promise<StageReply>;
  /** Frees the stage for the next session. */
  end(session: string): Promise<void>;
  /** What the stage holds (loads it if need be). */
  info?(): Promise<StageInfo>;
}

/** What a stage reports about itself (/health of the front door, figures). */
export interface StageInfo {
  /** The part as SPLIT names it ("0-14", "@0-14"). */
  part: string;
  loadMs: number;
  weightsBytes: number;
  /** Linear memory of the stage's kernel instance. */
  memoryBytes: number;
  /** A stage Worker's object instance, made when it was constructed: a new value means it was evicted. */
  instance?: string;
}

/** A session older than this (no call for it) may be replaced by a new one. */
export const STAGE_SESSION_IDLE_MS = 30_000;

/** Raised when a stage still serves another request's session. */
export class StageBusy extends Error {}

interface Session {
  id: string;
  state: DecoderState;
  policy: PruningPolicy;
  last: number;
}

/** One part of the model in its own kernel instance, serving one session at a time. */
export class Stage {
  private session: Session | null = null;

  constructor(
    private readonly e: Engine,
    readonly part: ModelPart,
    readonly info: Model["info"],
  ) {}

  get config(): ModelConfig {
    return this.e.cfg;
  }

  /** Linear memory of this stage's kernel instance. */
  get memoryBytes(): number {
    return this.e.ops.k.memory.buffer.byteLength;
  }

  /** Its StageInfo, under the name SPLIT gives its part. */
  describe(part: string, instance?: string): StageInfo {
    const { loadMs, weightsBytes } = this.info;
    return { part, loadMs, weightsBytes, memoryBytes: this.memoryBytes, ...(instance ? { instance } : {}) };
  }

  /** Vision stage: preprocess, vision tower and projector (all patches). */
  encode(image: ImageInput): EncodeReply {
    if (!this.part.vision) throw new Error("split: this stage has no vision tower");
    const e = this.e;
    const t0 = now();
    preprocess(e, image);
    const t1 = now();
    const visionLayersMs: number[] = [];
    let tl = t1;
    const { feature } = visionForward(e, () => visionLayersMs.push(-tl + (tl = now())));
    const t2 = now();
    const visual = projectorForward(e, feature);
    const t3 = now();
    return {
      visual: f32View(e, visual, e.cfg.imageSeqLength * e.cfg.text.hidden).slice(),
      preprocessMs: t1 - t0,
      visionMs: t2 - t1,
      visionLayersMs,
      projectorMs: t3 - t2,
      visionMacs: visionMacs(e),
    };
  }

  private decoderOnly(): void {
    if (this.part.to <= this.part.from) throw new Error("split: this stage has no decoder layers");
  }

  private claim(id: string, policy: PruningPolicy): Session {
    const s = this.session;
    if (s && s.id !== id && now() - s.last < STAGE_SESSION_IDLE_MS)
      throw new StageBusy(`split: stage ${this.part.from}-${this.part.to - 1} serves another request`);
    const state = { cacheLen: new Int32Array(this.e.cfg.text.layers), nextPos: 0, biased: false };
    this.session = { id, state, policy, last: now() };
    return this.session;
  }

  private active(id: string): Session {
    const s = this.session;
    if (!s || s.id !== id)
      throw new Error(`split: session ${id} is not open on stage ${this.part.from}-${this.part.to - 1}`);
    s.last = now();
    return s;
  }

  /** This stage's layers of a prefill; the last stage also runs lm_head and picks (or returns) the token. */
  prefill(req: PrefillRequest): StageReply {
    this.decoderOnly();
    const e = this.e;
    const D = e.cfg.text.hidden;
    const { method, knobs } = req.policy;
    if (!isMethod(method)) throw new Error(`split: unknown pruning method ${method}`);
    const policy = createPolicy(method, knobs);
    if (policy.afterVision) throw new Error(`split: ${method} reads the vision output; it cannot run split`);
    const session = this.claim(req.session, policy);
    policy.begin?.(policyContext(e, req.ids));
    let carry: PrefillCarry;
    if (this.part.from === 0) {
      if (!req.visual) throw new Error("split: the first decoder stage needs the visual tokens");
      f32View(e, e.b.visual, req.visual.length).set(req.visual);
      carry = prefillBegin(e, req.ids, e.b.visual, policy);
    } else {
      if (!req.carry || !req.hidden)
        throw new Error("split: a later stage needs the carry and hidden states");
      const { nextPos, biased, ...rest } = req.carry;
      carry = { ...rest, state: session.state };
      carry.state.nextPos = nextPos;
      carry.state.biased = biased;
      f32View(e, e.b.x, req.hidden.length).set(req.hidden);
    }
    session.state = carry.state;
    const layerMs: number[] = [];
    let tl = now();
    prefillLayers(e, carry, this.part.from, this.part.to, policy, () => layerMs.push(-tl + (tl = now())));
    const { state, ...rest } = carry;
    const wire: WireCarry = { ...rest, nextPos: state.nextPos, biased: state.biased };
    if (this.part.to < e.cfg.text.layers) {
      const hidden = f32View(e, e.b.x, carry.positions.length * D).slice();
      return { carry: wire, hidden, layerMs };
    }
    const t = now();
    prefillEnd(e, carry);
    wire.macs = carry.macs;
    layerMs[layerMs.length - 1] += now() - t;
    return { carry: wire, layerMs, ...this.pick(req.greedy) };
  }

  /** This stage's layers of one decode step at position `pos`. */
  decode(req: DecodeRequest): StageReply {
    this.decoderOnly();
    const e = this.e;
    const D = e.cfg.text.hidden;
    const s = this.active(req.session);
    const t0 = now();
    const x = f32View(e, e.b.x, D);
    if (this.part.from === 0) {
      if (req.token === undefined) throw new Error("split: the first decoder stage needs the token");
      embedRow(e, req.token, x);
    } else {
      if (!req.hidden) throw new Error("split: a later stage needs the hidden row");
      x.set(req.hidden);
    }
    decodeLayers(e, s.state, req.pos, this.part.from, this.part.to);
    s.state.nextPos = req.pos + 1;
    if (this.part.to < e.cfg.text.layers)
      return { hidden: f32View(e, e.b.x, D).slice(), layerMs: [now() - t0] };
    decodeHead(e);
    return { layerMs: [now() - t0], ...this.pick(req.greedy) };
  }

  private pick(greedy: boolean): { token?: number; logits?: Float32Array } {
    const V = this.e.cfg.text.vocabSize;
    if (greedy) return { token: this.e.ops.argmax(this.e.b.logits, V) };
    return { logits: f32View(this.e, this.e.b.logits, V).slice() };
  }

  end(session: string): void {
    if (this.session?.id === session) this.session = null;
  }
}

/** A StageLink to a Stage in this isolate (tests, tools). */
export function localLink(stage: Stage): StageLink {
  return {
    part: stage.part,
    encode: async (image) => stage.encode(image),
    prefill: async (req) => stage.prefill(req),
    decode: async (req) => stage.decode(req),
    end: async (session) => stage.end(session),
  };
}

/**
 * Parses a split: stage parts separated by "|" ("vision|0-14|15-29"; a part marked "@" runs in the front
 * door's own isolate, "vision|@0-14|15-29"); the parts must cover the vision tower and every decoder
 * layer once, in order.
 */
export function parseSplit(text: string, c: ModelConfig): ModelPart[] {
  const parts = text.split("|").map((p) => parsePart(p.trim().replace(/^@/, ""), c));
  let next = 0;
  let vision = false;
  for (const p of parts) {
    if (p.vision) {
      if (vision || next > 0) throw new Error(`split: "${text}": the vision tower must come first, once`);
      vision = true;
    }
    if (p.to > p.from) {
      if (p.from !== next)
        throw new Error(`split: "${text}": layer ${next} is not where the next stage starts`);
      next = p.to;
    }
  }
  if (!vision || next !== c.text.layers)
    throw new Error(`split: "${text}" must hold the vision tower and layers 0-${c.text.layers - 1}`);
  return parts;
}

/** What a split request moved between stages and how long the stages took. */
export interface SplitStats {
  stages: number;
  /** Bytes of visual tokens, hidden states, carries and logits sent between stages (payloads only). */
  bytesMoved: number;
  /** Of which per decoded token. */
  bytesPerDecodedToken: number;
  /** Time spent outside the stages' own compute per decode step (links, copies), ms. */
  overheadMsPerToken: number;
}

const bytesOf = (r: {
  visual?: Float32Array;
  hidden?: Float32Array;
  logits?: Float32Array;
  carry?: WireCarry;
}) =>
  (r.visual?.byteLength ?? 0) +
  (r.hidden?.byteLength ?? 0) +
  (r.logits?.byteLength ?? 0) +
  (r.carry ? r.carry.positions.byteLength + r.carry.grid.byteLength + r.carry.sizes.byteLength : 0);

let sessions = 0;

/**
 * A model served by stages: the same generate() as Model (events, stats), driving the links in order.
 * Not supported split: a vision reduction (`options.vision`), policies that read the vision output, traces.
 */
export class SplitModel {
  readonly queue = new ModelQueue();
  /** Kernel variants: chosen by each stage (the front door runs none). */
  readonly kernels: Record<string, string> = {};
  /** Kernel build and int8 dot: each stage's own (none here). */
  readonly build = null;
  readonly int8Dot = null;
  /** Stages run elsewhere: the front door observes no pace, so plans use the table as measured. */
  readonly pace = new HostPace();

  constructor(
    private readonly links: StageLink[],
    readonly tokenizer: TextTokenizer,
    readonly config: ModelConfig,
    readonly info: Model["info"],
  ) {
    if (!links[0]?.part.vision) throw new Error("split: the first stage must hold the vision tower");
  }

  /** The cost table's row for this front door (wasm/engine/cost.ts platformRow), null without a table. */
  get costRow(): PlatformCost | null {
    return costRowOf(this.info.cost, this);
  }

  /** Vision outputs are not cached across stages (`imageKey` is ignored): every request computes its own. */
  cachedVision(): boolean {
    return false;
  }

  async *generate(
    image: ImageSource,
    prompt: string | readonly number[],
    options: GenerateOptions = {},
  ): AsyncGenerator<GenerateEvent> {
    const ticket = options.ticket ?? this.queue.enter();
    const queuedAt = now();
    await this.queue.turn(ticket, options.signal); // on failure the ticket has left the queue
    const session = `s${++sessions}-${Math.random().toString(36).slice(2, 10)}`;
    const decoders = this.links.filter((l) => l.part.to > l.part.from);
    try {
      if (options.vision) throw new Error("split: a vision reduction cannot run split");
      if (options.trace) throw new Error("split: traces run on a single-isolate model");
      const cfg = this.config;
      const policy = options.policy;
      const spec: PolicySpec = policy?.spec ?? { method: policy?.name ?? "none", knobs: {} };
      const sampler = new Sampler(options);
      const maxTokens = options.maxTokens ?? 32;
      const stop = new Set(options.stopTokens ?? [cfg.eosId]);
      const ids = this.tokenizer.promptIds(prompt);
      const t0 = now();
      const enc = await this.links[0].encode(await imagePixels(image));
      let bytes = enc.visual.byteLength;
      const t3 = now();
      let carry: WireCarry | undefined;
      let hidden: Float32Array | undefined;
      let last: StageReply | undefined;
      const llmLayersMs: number[] = [];
      for (const link of decoders) {
        const req: PrefillRequest = {
          session,
          ids,
          policy: spec,
          greedy: sampler.greedy,
          ...(link.part.from === 0 ? { visual: enc.visual } : { carry, hidden }),
        };
        if (link.part.from > 0) bytes += bytesOf({ carry, hidden });
        last = await link.prefill(req);
        llmLayersMs.push(...last.layerMs);
        carry = last.carry;
        hidden = last.hidden;
      }
      bytes += bytesOf({ logits: last!.logits });
      const c = carry!;
      const t4 = now();
      const choose = (r: StageReply) => r.token ?? sampler.sample(r.logits!);
      const answer = new AnswerText(this.tokenizer);
      const out = answer.ids;
      let finishReason: "stop" | "length" = "length";
      const clock = new TokenClock(t0);
      let stageMs = 0;
      let decodeBytes = 0;
      let pos = c.nextPos;
      let reply = last!;
      for (let i = 0; i < maxTokens; i++) {
        const tStart = now();
        if (i > 0) {
          if (pos >= cfg.text.maxPositions || options.shouldStop?.()) break;
          let row: Float32Array | undefined;
          for (const link of decoders) {
            const req: DecodeRequest = { session, pos, greedy: sampler.greedy };
            if (link.part.from === 0) req.token = out[out.length - 1];
            else {
              req.hidden = row;
              decodeBytes += row!.byteLength;
            }
            reply = await link.decode(req);
            stageMs += reply.layerMs[0];
            row = reply.hidden;
          }
          decodeBytes += bytesOf({ logits: reply.logits }) + 4;
          pos++;
        }
        const id = choose(reply);
        const ms = clock.tick(i, tStart);
        if (stop.has(id)) {
          finishReason = "stop";
          break;
        }
        const piece = answer.add(id);
        this.queue.touch(ticket);
        yield { type: "token", index: i, id, text: piece, ms };
        if (ticket.lost) throw new QueueLeft("lost");
      }
      const total = cfg.imageSeqLength;
      const timings: Timings = {
        queueMs: t0 - queuedAt,
        preprocessMs: enc.preprocessMs,
        visionMs: enc.visionMs,
        visionLayersMs: enc.visionLayersMs,
        visionReduceMs: 0,
        projectorMs: enc.projectorMs,
        prefillMs: t4 - t3,
        llmLayersMs,
        pruneMsPerLayer: c.pruneMsPerLayer,
        ttftMs: clock.ttft,
        decodeMsPerToken: clock.perStep(clock.decodeMs),
        totalMs: clock.ttft + clock.decodeMs,
      };
      const done: DoneEvent = {
        type: "done",
        text: answer.text,
        ids: out,
        stats: {
          method: spec.method,
          promptTokens: ids.length,
          generatedTokens: out.length,
          finishReason,
          timings,
          visualTokens: visualTokenStats(c.visualPerLayer, c.visualIndexPerLayer, total),
          llmPrefillMacs: c.macs,
          visionMacs: enc.visionMacs,
          visionRows: { perLayer: enc.visionLayersMs.map(() => total), out: total },
          kvFraction:
            c.visualPerLayer.reduce((a, v) => a + v + (ids.length - total), 0) /
            (cfg.text.layers * ids.length),
          peakMemoryBytes: this.info.memoryBytes,
          visionCached: false,
          split: {
            stages: this.links.length,
            bytesMoved: bytes + decodeBytes,
            bytesPerDecodedToken: clock.perStep(decodeBytes),
            overheadMsPerToken: clock.perStep(clock.decodeMs - stageMs),
          },
        },
      };
      yield done;
    } finally {
      await Promise.all(this.links.map((l) => l.end(session).catch(() => {})));
      this.queue.leave(ticket);
    }
  }

  /** Each stage's part, weights and linear memory (one isolate each). */
  async stages(): Promise<(StageInfo | null)[]> {
    return Promise.all(this.links.map((l) => l.info?.() ?? Promise.resolve(null)));
  }

  /** Runs `generate` to the end and returns the done event. */
  async run(image: ImageSource, prompt: string | readonly number[], options: GenerateOptions = {}) {
    for await (const ev of this.generate(image, prompt, options)) if (ev.type === "done") return ev;
    throw new Error("generate ended without a done event");
  }
}

/** Loads `part` of the model `source` holds as a Stage (only its tensors, shards and buffers). */
export async function loadStage(
  source: ByteSource,
  options: LoadOptions,
  part: ModelPart | string,
): Promise<Stage> {
  let p = typeof part === "string" ? null : part;
  const loaded = await loadEngine(
    source,
    options,
    p ?? undefined,
    (cfg) => (p ??= parsePart(part as string, cfg)),
  );
  return new Stage(loaded.engine, p!, loaded.info);
}

/**
 * The front door of a split model: its config and tokenizer read from `source` (no weights), the links
 * to its stages in order (their parts must match `split`).
 */
export async function openSplitModel(
  source: ByteSource,
  split: string,
  links: (part: ModelPart, i: number) => StageLink,
): Promise<SplitModel> {
  const t0 = now();
  const { config, tokenizer, manifest } = await readModelHead(source);
  const parts = parseSplit(split, config);
  return new SplitModel(
    parts.map((p, i) => links(p, i)),
    tokenizer,
    config,
    {
      modelId: manifest.model_id,
      quantization: manifest.quantization,
      loadMs: now() - t0,
      weightsBytes: manifest.shards.reduce((a, s) => a + s.bytes, 0),
      memoryBytes: 0,
      streamed: true,
      cost: null,
    },
  );
}
