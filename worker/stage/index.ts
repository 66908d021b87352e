// A stage of a split model (docs/split.md): one Durable Object per stage Worker, which loads the part of
// the model the front door names (worker/stage/host.ts: only that part's tensors, streamed from R2) into
// its own isolate and keeps it, and keeps the KV caches of its layers for the request being served, so
// every decode step of a request returns here. The front door (worker/split.ts) calls its methods over
// a Durable Object binding; each stage is its own Worker script, so no two stages share an isolate (and
// its 128 MB). Deployed as atp-edge-stage-N (tools/split/config.ts writes their wrangler configs).
import { DurableObject } from "cloudflare:workers";
import type {
  DecodeRequest,
  EncodeReply,
  ImageInput,
  PrefillRequest,
  StageInfo,
  StageReply,
} from "../../wasm/index";
import { kernelModule, useKernelBuild } from "../kernels";
import { StageHost, type StageKey } from "./host";

export type { StageKey } from "./host";

export interface StageEnv {
  WEIGHTS: R2Bucket;
  KERNELS?: string;
  /** Seconds a loaded stage is kept warm after its last call (alarms; default 300, 0 = off). */
  STAGE_KEEP_WARM_S?: string;
}

/** The keep-warm alarm's period: under the 10 s after which the runtime evicts an idle object. */
const WARM_TICK_MS = 5_000;

export class StageObject extends DurableObject<StageEnv> {
  private readonly host: StageHost;
  private lastUse = 0;
  private warmAlarm = false;

  constructor(ctx: DurableObjectState, env: StageEnv) {
    super(ctx, env);
    useKernelBuild(env.KERNELS);
    this.host = new StageHost(env.WEIGHTS, kernelModule, () => this.touch());
  }

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
    if (this.host.loaded && Date.now() - this.lastUse < this.keepWarmMs()) {
      this.warmAlarm = true;
      await this.ctx.storage.setAlarm(Date.now() + WARM_TICK_MS);
    }
  }

  encode(key: StageKey, image: ImageInput): Promise<EncodeReply> {
    return this.host.encode(key, image);
  }
  prefill(key: StageKey, req: PrefillRequest): Promise<StageReply> {
    return this.host.prefill(key, req);
  }
  decode(key: StageKey, req: DecodeRequest): Promise<StageReply> {
    return this.host.decode(key, req);
  }
  hold(key: StageKey, session: string): Promise<void> {
    return this.host.hold(key, session);
  }
  end(key: StageKey, session: string): Promise<void> {
    return this.host.end(key, session);
  }
  info(key: StageKey): Promise<StageInfo> {
    return this.host.info(key);
  }
}

export default {
  fetch: () => new Response("an atp-edge stage: reached through its Durable Object binding", { status: 404 }),
};
