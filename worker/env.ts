// The Worker's bindings, declared once (wrangler.toml is the source of the binding names), and the Hono
// environment every route group and middleware is typed with.
import type { MetricsStore } from "./metrics/store";

export interface Env {
  /** R2 bucket holding the weight shards (`weights/` uploaded as is). */
  WEIGHTS: R2Bucket;
  /** Model id served by default. */
  MODEL_ID: string;
  /**
   * Default CPU budget per request in ms (docs/cost.md), for requests that set no budget of their own;
   * unset or empty: none.
   */
  CPU_BUDGET_MS?: string;
  /** The kernel build (worker/kernels.ts): relaxed (default) or simd (an engine without relaxed SIMD). */
  KERNELS?: string;
  /**
   * "off": every request computes its image's vision output (no cache of recent images, docs/cost.md
   * "Repeated images"); anything else: follow-ups on an image seen before reuse it.
   */
  VISION_CACHE?: string;
  /** When set, every API route needs `Authorization: Bearer <API_KEY>`. */
  API_KEY?: string;
  /**
   * A model split across stage Workers (docs/split.md): their parts in order, "vision|0-14|15-29", each
   * reached by the binding STAGE_i. Unset or empty: the model runs in this isolate.
   */
  SPLIT?: string;
  /** The metrics store (worker/metrics/store.ts): one SQLite-backed Durable Object. */
  METRICS: DurableObjectNamespace<MetricsStore>;
}

/** Per-request values set by middleware. */
export interface Variables {
  /** performance.now() when the request reached the Worker (the deadline counts from here). */
  arrivedAt: number;
}

/** The Hono environment of this app. */
export interface AppEnv {
  Bindings: Env;
  Variables: Variables;
}
