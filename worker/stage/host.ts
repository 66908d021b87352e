// What a stage Worker holds (docs/split.md), apart from the Durable Object around it (worker/stage/index.ts):
// its part of the model, loaded from R2 on first use; which model that was (the manifest's etag); the
// holds the front door keeps open for its sessions. Every call names the part and the model version the
// front door serves, so a stage never answers for another model: a new version is loaded when no session
// is open, and a front door still on the old one is told to retry (503) until it has picked up the new.
import {
  loadStage,
  type DecodeRequest,
  type EncodeReply,
  type ImageInput,
  type PrefillRequest,
  type Stage,
  type StageInfo,
  type StageReply,
} from "../../wasm/index";
import { R2Source } from "../store";

/** Which stage a call is for: the part ("0-14") and the front door's manifest etag (null: any). */
export interface StageKey {
  part: string;
  version: string | null;
}

/** The longest a session's hold stays open if its end never comes (the front door went away). */
const STAGE_HOLD_MAX_MS = 300_000;

export class StageHost {
  readonly instance = crypto.randomUUID();
  /** Loads started, for tests and figures. */
  loads = 0;
  private stage: Promise<Stage> | null = null;
  private part = "";
  private version: string | null = null;
  private holds = new Map<string, () => void>();

  constructor(
    private readonly bucket: R2Bucket,
    private readonly kernels: () => WebAssembly.Module,
    private readonly onUse: () => void = () => {},
  ) {}

  /** Whether a part is loaded (or loading). */
  get loaded(): boolean {
    return this.stage !== null;
  }

  private async load(key: StageKey): Promise<Stage> {
    if (this.stage && key.part !== this.part)
      throw new Error(`split: this stage serves part "${this.part}", not "${key.part}" (redeploy the split)`);
    this.onUse();
    if (this.stage && key.version !== null && this.version !== null && key.version !== this.version) {
      if (this.holds.size > 0)
        throw new Error(`split: stage ${key.part} serves another request (a model being replaced)`);
      const current = (await this.bucket.head("manifest.json"))?.etag ?? null;
      if (current === this.version)
        throw new Error(
          `weights: stage ${key.part} serves the model of manifest ${this.version}; the front door's ${key.version} is older and is being replaced`,
        );
      this.stage = null; // the old model goes before the new one loads
    }
    if (!this.stage) {
      this.part = key.part;
      this.loads++;
      const source = new R2Source(this.bucket);
      this.stage = loadStage(source, { kernels: this.kernels() }, key.part).then(
        (s) => {
          this.version = source.manifestEtag;
          return s;
        },
        (err: unknown) => {
          this.stage = null; // the next call tries again; nothing half-loaded is kept
          throw err;
        },
      );
    }
    const s = await this.stage;
    if (key.version !== null && this.version !== key.version)
      throw new Error(
        `weights: stage ${key.part} loaded manifest ${this.version}, the front door serves ${key.version} (a new model is being deployed)`,
      );
    return s;
  }

  async encode(key: StageKey, image: ImageInput): Promise<EncodeReply> {
    return (await this.load(key)).encode(image);
  }
  async prefill(key: StageKey, req: PrefillRequest): Promise<StageReply> {
    return (await this.load(key)).prefill(req);
  }
  async decode(key: StageKey, req: DecodeRequest): Promise<StageReply> {
    return (await this.load(key)).decode(req);
  }

  /**
   * Open until `end(session)` (or STAGE_HOLD_MAX_MS): the front door keeps this call in flight for the
   * whole request, so the runtime never finds the object idle between the request's calls and cannot
   * evict it (and its KV caches) while other stages compute. Without it, workerd freed a stage between
   * a request's prefill and its first decode step (docs/split.md).
   */
  hold(_key: StageKey, session: string): Promise<void> {
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

  async end(key: StageKey, session: string): Promise<void> {
    this.holds.get(session)?.();
    if (!this.stage || key.part !== this.part) return; // nothing loaded: nothing to end
    this.onUse();
    (await this.stage).end(session);
  }

  async info(key: StageKey): Promise<StageInfo> {
    return (await this.load(key)).describe(key.part, this.instance);
  }
}
