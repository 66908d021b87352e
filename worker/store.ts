// The model of this isolate, loaded from R2 and kept across requests.
// R2Source is the engine's ByteSource over the WEIGHTS bucket (`weights/` uploaded as is: manifest.json,
// config.json, tokenizer.json, shard-*.bin at the bucket root), with a time limit on every object and on
// every chunk of a streamed one: a stalled read fails the load instead of hanging it. The engine's loader
// streams the shards straight into linear memory, checks their byte length and sha256 on the way, and
// returns a model only when everything checked out.
//
// ModelStore makes the load single-flight: requests that arrive together share one load; a failed load is
// forgotten (nothing half-loaded stays), every request waiting on it answers 503 with Retry-After, and the
// next request tries again. Once a model is loaded, the store looks at the manifest's etag at most every
// `checkMs`; when a new manifest was uploaded it loads the new model beside the old one and switches when
// the load has succeeded. A request runs on the model it got, so each sees one complete model; a new
// manifest whose shards are not all uploaded yet fails its checks and the old model stays in service.
import { loadModel, type ByteSource, type ServedModel } from "../wasm/index";
import { openSplit, type StageBindings } from "./split";
import { ApiError } from "./errors";
import { kernelModule } from "./kernels";
import { withTimeout } from "./timeout";
import { MANIFEST_CHECK_MS, WEIGHTS_READ_TIMEOUT_MS } from "./limits";

/** The engine's ByteSource over an R2 bucket; remembers the etag of the manifest it read. */
export class R2Source implements ByteSource {
  manifestEtag: string | null = null;

  constructor(
    private readonly bucket: R2Bucket,
    private readonly timeoutMs: number = WEIGHTS_READ_TIMEOUT_MS,
  ) {}

  async get(key: string): Promise<Uint8Array | null> {
    const read = async () => {
      const obj = await this.bucket.get(key).catch((err: unknown) => {
        throw new Error(`weights: reading ${key} failed: ${describe(err)}`);
      });
      if (!obj) return null;
      if (key === "manifest.json") this.manifestEtag = obj.etag;
      return new Uint8Array(await obj.arrayBuffer());
    };
    return withTimeout(read(), this.timeoutMs, `weights: ${key} did not arrive within ${this.timeoutMs} ms`);
  }

  /** The object's body as it arrives; a chunk that takes longer than the time limit fails the read. */
  async stream(key: string): Promise<ReadableStream<Uint8Array> | null> {
    const ms = this.timeoutMs;
    const obj = await withTimeout(
      this.bucket.get(key).catch((err: unknown) => {
        throw new Error(`weights: reading ${key} failed: ${describe(err)}`);
      }),
      ms,
      `weights: ${key} did not arrive within ${ms} ms`,
    );
    if (!obj) return null;
    const reader = obj.body.getReader();
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await withTimeout(reader.read(), ms, `weights: ${key} stalled for ${ms} ms`);
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
  }
}

/** Yields to the event loop on this request's own timer. */
const pause = () => new Promise<void>((r) => setTimeout(r, 2));

/** What the store is doing, for /health. */
export type StoreState = "empty" | "loading" | "ready";

/** A loaded model (or the front door of a split one) and the etag of the manifest it came from. */
export interface Loaded {
  model: ServedModel;
  etag: string | null;
}

/** What an opener may read besides the bucket: the split and its stage bindings. */
export type OpenEnv = { SPLIT?: string } & StageBindings;

/** Opens a model from a bucket. */
export type Opener = (bucket: R2Bucket, timeoutMs: number, env?: OpenEnv) => Promise<Loaded>;

/** Work that must outlive the request that started it (the route's waitUntil). */
export type KeepAlive = (work: Promise<unknown>) => void;

const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** One model per isolate, loaded on first use, replaced when a new manifest is uploaded. */
export class ModelStore {
  private current: Loaded | undefined;
  private pending: Promise<Loaded> | undefined;
  /** The error of the last failed cold load, for the requests that were waiting on it. */
  private failure: { of: Promise<Loaded>; error: ApiError } | undefined;
  private checkedAt = -Infinity;
  private replacing: Promise<unknown> | undefined;
  /** Loads started (successful or not): the tests check that concurrent first requests start one. */
  loads = 0;
  /** Models replaced after a new manifest appeared. */
  swaps = 0;
  /** Time limit of one R2 read, ms. */
  timeoutMs = WEIGHTS_READ_TIMEOUT_MS;
  /** Least time between two looks at the manifest's etag, ms. */
  checkMs = MANIFEST_CHECK_MS;

  constructor(private readonly open: Opener) {}

  /** The model in service, if loaded (never loads it). */
  get loaded(): ServedModel | undefined {
    return this.current?.model;
  }

  get state(): StoreState {
    return this.current ? "ready" : this.pending ? "loading" : "empty";
  }

  /**
   * The model, loading it from `bucket` if needed. Throws ApiError 503 when the weights cannot load.
   * `keepAlive` receives a replacement load started in the background.
   */
  async get(bucket: R2Bucket, keepAlive?: KeepAlive, env?: OpenEnv): Promise<ServedModel> {
    if (this.current) {
      await this.lookForUpdate(bucket, keepAlive);
      return this.current.model;
    }
    if (this.pending) {
      // Another request started the load. Wait on this request's own timers rather than on a promise
      // that the loading request settles: workerd hangs a waiter resolved from another request context.
      const shared = this.pending;
      const loaded = () => this.current as Loaded | undefined; // set by the loading request meanwhile
      while (!loaded() && this.pending === shared && this.failure?.of !== shared) await pause();
      if (this.failure?.of === shared) throw this.failure.error;
      const done = loaded();
      if (done) return done.model;
    }
    this.loads++;
    const loading = this.open(bucket, this.timeoutMs, env).then(
      (loaded) => {
        this.current = loaded;
        this.checkedAt = Date.now();
        return loaded;
      },
      (err: unknown) => {
        if (this.pending === loading) this.pending = undefined; // the next request retries
        console.error(`model load failed: ${describe(err)}`);
        const error = new ApiError(
          503,
          `Model weights are unavailable: ${describe(err)}`,
          "service_unavailable",
          "weights_unavailable",
        );
        this.failure = { of: loading, error };
        throw error;
      },
    );
    this.pending = loading;
    return (await loading).model;
  }

  /** Starts loading a new model when the manifest's etag changed (at most every checkMs). */
  private async lookForUpdate(bucket: R2Bucket, keepAlive?: KeepAlive): Promise<void> {
    if (this.replacing || Date.now() - this.checkedAt < this.checkMs) return;
    this.checkedAt = Date.now();
    let etag: string | null;
    try {
      etag = (await bucket.head("manifest.json"))?.etag ?? null;
    } catch (err) {
      console.error(`manifest check failed: ${describe(err)}`);
      return; // keep serving the model we have
    }
    if (etag === null || etag === this.current!.etag || this.replacing) return;
    this.loads++;
    const replacing = this.open(bucket, this.timeoutMs).then(
      (loaded) => {
        this.current = loaded;
        this.swaps++;
        console.log(JSON.stringify({ event: "model_swapped", etag: loaded.etag }));
      },
      (err: unknown) => console.error(`new weights failed to load, keeping the old: ${describe(err)}`),
    );
    this.replacing = replacing.finally(() => (this.replacing = undefined));
    keepAlive?.(this.replacing);
  }

  /** Forgets the model (tests). */
  reset(): void {
    this.current = undefined;
    this.pending = undefined;
    this.failure = undefined;
    this.replacing = undefined;
    this.checkedAt = -Infinity;
    this.loads = 0;
    this.swaps = 0;
    this.timeoutMs = WEIGHTS_READ_TIMEOUT_MS;
    this.checkMs = MANIFEST_CHECK_MS;
  }
}

/**
 * Opens the int8 model on the isolate's kernel build (worker/kernels.ts, KERNELS); with SPLIT set, the
 * front door of the model split across the stage Workers (worker/split.ts).
 */
export const openModel: Opener = async (bucket, timeoutMs, env) => {
  const source = new R2Source(bucket, timeoutMs);
  const model = env?.SPLIT
    ? await openSplit(source, env.SPLIT, env)
    : await loadModel(source, { kernels: kernelModule(), precision: "int8" });
  return { model, etag: source.manifestEtag };
};

/** The isolate's store. */
export const modelStore = new ModelStore(openModel);
