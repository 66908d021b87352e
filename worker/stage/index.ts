// A stage of a split model (docs/split.md): one Durable Object per stage Worker, which loads the part of
// the model the front door names (wasm/split.ts Stage: only that part's tensors, streamed from R2) into
// its own isolate and keeps it, and keeps the KV caches of its layers for the request being served, so
// every decode step of a request returns here. The front door (worker/split.ts) calls its methods over
// a Durable Object binding; each stage is its own Worker script, so no two stages share an isolate (and
// its 128 MB). Deployed as atp-edge-stage-N (tools/split/config.ts writes their wrangler configs).
import { DurableObject } from "cloudflare:workers";
import {
  loadStage,
  type DecodeRequest,
  type EncodeReply,
  type ImageInput,
  type PrefillRequest,
  type Stage,
  type StageReply,
} from "../../wasm/index";
import { kernelModule, useKernelBuild } from "../kernels";
import { R2Source } from "../store";

export interface StageEnv {
  WEIGHTS: R2Bucket;
  KERNELS?: string;
  /** Seconds a loaded stage is kept warm after its last call (alarms; default 300, 0 = off). */
  STAGE_KEEP_WARM_S?: string;
}

/** What a stage reports about itself (figures, /health of the front door). */
export interface StageInfo {
  part: string;
  loadMs: number;
  weightsBytes: number;
  memoryBytes: number;
  /** Made when this object was constructed: a new value means the runtime evicted the last one. */
  instance?: string;
}

/** The longest a session's hold stays open if its end never comes (the front door went away). */
const STAGE_HOLD_MAX_MS = 300_000;
/** The keep-warm alarm's period: under the 10 s after which the runtime evicts an idle object. */
const WARM_TICK_MS = 5_000;

export class StageObject extends DurableObject<StageEnv> {
  private stage: Promise<Stage> | null = null;
  private part = "";
  private holds = new Map<string, () => void>();
  private readonly instance = crypto.randomUUID();
  private lastUse = 0;
  private warmAlarm = false;

  /**
   * Keeping a loaded stage warm between requests (docs/split.md): the runtime evicts an object idle for
   * 10 s, and the next request would reload the part from R2 (seconds). Each call notes the time; an
   * alarm every WARM_TICK_MS counts as an event, so the object stays while the last call is at most
   * STAGE_KEEP_WARM_S old. One storage write per warm spell, none per call.
   */
  private touch(): void {
    this.lastUse = Date.now();
    if (!this.warmAlarm && this.keepWarmMs() > 0) {
      this.warmAlarm = true;
      void this.ctx.storage.setAlarm(Date.now() + WARM_TICK_MS);
    }
  }

  private keepWarmMs(): number {
    const s = Number(this.env.STAGE_KEEP_WARM_S ?? "300");
    return Number.isFinite(s) && s > 0 ? s * 1000 : 0;
  }

  override async alarm(): Promise<void> {
    this.warmAlarm = false;
    // an alarm that finds a fresh object (the last one evicted anyway) loads nothing and stops
    if (this.stage && Date.now() - this.lastUse < this.keepWarmMs()) {
      this.warmAlarm = true;
      await this.ctx.storage.setAlarm(Date.now() + WARM_TICK_MS);
    }
  }

  private load(part: string): Promise<Stage> {
    if (this.stage && part !== this.part)
      throw new Error(`split: this stage serves part "${this.part}", not "${part}" (redeploy the split)`);
    this.touch();
    if (!this.stage) {
      useKernelBuild(this.env.KERNELS);
      this.part = part;
      this.stage = loadStage(new R2Source(this.env.WEIGHTS), { kernels: kernelModule() }, part).catch(
        (err) => {
          this.stage = null; // the next call tries again; nothing half-loaded is kept
          throw err;
        },
      );
    }
    return this.stage;
  }

  async encode(part: string, image: ImageInput): Promise<EncodeReply> {
    return (await this.load(part)).encode(image);
  }
  async prefill(part: string, req: PrefillRequest): Promise<StageReply> {
    return (await this.load(part)).prefill(req);
  }
  async decode(part: string, req: DecodeRequest): Promise<StageReply> {
    return (await this.load(part)).decode(req);
  }
  /**
   * Open until `end(session)` (or STAGE_HOLD_MAX_MS): the front door keeps this call in flight for the
   * whole request, so the runtime never finds the object idle between the request's calls and cannot
   * evict it (and its KV caches) while other stages compute. Without it, workerd freed a stage between
   * a request's prefill and its first decode step (docs/split.md).
   */
  hold(_part: string, session: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), STAGE_HOLD_MAX_MS);
      const done = () => {
        clearTimeout(timer);
        if (this.holds.get(session) === done) this.holds.delete(session);
        resolve();
      };
      this.holds.get(session)?.();
      this.holds.set(session, done);
    });
  }
  async end(part: string, session: string): Promise<void> {
    this.holds.get(session)?.();
    if (!this.stage || part !== this.part) return; // nothing loaded: nothing to end
    this.touch();
    (await this.stage).end(session);
  }
  async info(part: string): Promise<StageInfo> {
    const s = await this.load(part);
    return {
      part,
      loadMs: s.info.loadMs,
      weightsBytes: s.info.weightsBytes,
      memoryBytes: s.memoryBytes,
      instance: this.instance,
    };
  }
}

export default {
  fetch: () => new Response("an atp-edge stage: reached through its Durable Object binding", { status: 404 }),
};
