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

/** What the store is doing, for /health. */
export type StoreState = "empty" | "loading" | "ready";

/** One model per isolate, loaded on first use. */
export class ModelStore {
  private pending: Promise<Model> | undefined;
  private ready = false;
  /** Loads started (successful or not): the tests check that concurrent first requests start one. */
  loads = 0;

  constructor(private readonly open: (bucket: R2Bucket) => Promise<Model>) {}

  get state(): StoreState {
    return this.ready ? "ready" : this.pending ? "loading" : "empty";
  }

  /** The model, loading it from `bucket` if needed. Throws ApiError 503 when the weights cannot load. */
  get(bucket: R2Bucket): Promise<Model> {
    if (!this.pending) {
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
          throw new ApiError(
            503,
            `Model weights are unavailable: ${why}`,
            "service_unavailable",
            "weights_unavailable",
          );
        },
      );
      this.pending = loading;
    }
    return this.pending;
  }

  /** Forgets the model (tests; a new manifest is picked up by a fresh isolate otherwise). */
  reset(): void {
    this.pending = undefined;
    this.ready = false;
    this.loads = 0;
  }
}

/** The isolate's store: int8 weights on the relaxed-SIMD kernels. */
export const modelStore = new ModelStore((bucket) =>
  loadModel(new R2Source(bucket), { kernels: kernelModule, precision: "int8" }),
);
