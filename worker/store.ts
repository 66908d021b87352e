// The model of this isolate, loaded from R2 once and kept across requests.
// R2Source is the engine's ByteSource over the WEIGHTS bucket (`weights/` uploaded as is: manifest.json,
// config.json, tokenizer.json, shard-*.bin at the bucket root). The engine's loader fetches the shards in
// parallel and checks their byte length and sha256. ModelStore makes the load single-flight: requests
// that arrive together share one load; a failed load is forgotten (nothing half-loaded stays) and the
// next request tries again, answering 503 meanwhile.
import { loadModel, type ByteSource, type Model } from "../wasm/index";
import { ApiError } from "./errors";
import { kernelModule } from "./kernels";

/** The engine's ByteSource over an R2 bucket. */
export class R2Source implements ByteSource {
  constructor(private readonly bucket: R2Bucket) {}

  async get(key: string): Promise<Uint8Array | null> {
    const obj = await this.bucket.get(key);
    return obj ? new Uint8Array(await obj.arrayBuffer()) : null;
  }
}

/** Yields to the event loop on this request's own timer. */
const pause = () => new Promise<void>((r) => setTimeout(r, 2));

/** What the store is doing, for /health. */
export type StoreState = "empty" | "loading" | "ready";

/** One model per isolate, loaded on first use. */
export class ModelStore {
  private pending: Promise<Model> | undefined;
  private ready = false;
  /** The error of the last failed load, for the requests that were waiting on it. */
  private failure: { of: Promise<Model>; error: ApiError } | undefined;
  /** Loads started (successful or not): the tests check that concurrent first requests start one. */
  loads = 0;

  constructor(private readonly open: (bucket: R2Bucket) => Promise<Model>) {}

  get state(): StoreState {
    return this.ready ? "ready" : this.pending ? "loading" : "empty";
  }

  /** The model, loading it from `bucket` if needed. Throws ApiError 503 when the weights cannot load. */
  async get(bucket: R2Bucket): Promise<Model> {
    if (this.pending) {
      // Another request started the load. Wait on this request's own timers rather than on a promise
      // that the loading request settles: workerd hangs a waiter resolved from another request context.
      const shared = this.pending;
      while (!this.ready && this.pending === shared && this.failure?.of !== shared) await pause();
      if (this.failure?.of === shared) throw this.failure.error;
      if (this.ready) return this.pending!;
    }
    this.loads++;
    const loading = this.open(bucket).then(
      (model) => {
        this.ready = true;
        return model;
      },
      (err: unknown) => {
        if (this.pending === loading) this.pending = undefined; // the next request retries
        const why = err instanceof Error ? err.message : String(err);
        console.error(`model load failed: ${why}`);
        const error = new ApiError(
          503,
          `Model weights are unavailable: ${why}`,
          "service_unavailable",
          "weights_unavailable",
        );
        this.failure = { of: loading, error };
        throw error;
      },
    );
    this.pending = loading;
    return loading;
  }

  /** Forgets the model (tests; a new manifest is picked up by a fresh isolate otherwise). */
  reset(): void {
    this.pending = undefined;
    this.ready = false;
    this.failure = undefined;
    this.loads = 0;
  }
}

/** The isolate's store: int8 weights on the relaxed-SIMD kernels. */
export const modelStore = new ModelStore((bucket) =>
  loadModel(new R2Source(bucket), { kernels: kernelModule, precision: "int8" }),
);
