// GET /v1/metrics: the recorded requests of a time window (worker/metrics/store.ts), optionally of some
// pruning methods only: p50/p95/p99 of time to first token and inter-token latency, their course over
// time, and the newest requests with their prefill breakdown and visual tokens per layer.
// GET /v1/metrics/requests/:id: one request with the grid indices each layer kept and its thumbnail (the
// dashboard's pruning map). Both behind the API key (/v1/*); the store's time is a Server-Timing entry.
import { Hono } from "hono";
import { endTime, startTime } from "hono/timing";
import { z } from "zod";
import { METHODS } from "../../wasm/index";
import type { AppEnv } from "../env";
import { ApiError, badRequest } from "../errors";
import { METRICS_TIMEOUT_MS } from "../limits";
import { MAX_AGE_MS, metricsStore, withStore } from "../metrics/store";

/** Default window: the last hour. */
const DEFAULT_WINDOW_S = 3600;
/** Requests listed by default and at most (the percentiles cover the whole window either way). */
const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 5000;
/** Percentile series resolution. */
const DEFAULT_BUCKETS = 30;
const MAX_BUCKETS = 500;

const methodList = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((m) => m.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.enum(METHODS)).min(1));

const metricsQuery = z
  .object({
    /** Window length in seconds ending at `to` (default now). */
    window: z.coerce
      .number()
      .positive()
      .max(MAX_AGE_MS / 1000)
      .default(DEFAULT_WINDOW_S),
    /** Window bounds, ms since the epoch; `from` overrides `window`. */
    from: z.coerce.number().int().nonnegative().optional(),
    to: z.coerce.number().int().nonnegative().optional(),
    /** Comma-separated pruning methods. */
    method: methodList.optional(),
    limit: z.coerce.number().int().min(0).max(MAX_LIMIT).default(DEFAULT_LIMIT),
    buckets: z.coerce.number().int().min(1).max(MAX_BUCKETS).default(DEFAULT_BUCKETS),
  })
  .strict();

export const metrics = new Hono<AppEnv>();

metrics.get("/v1/metrics", async (c) => {
  const parsed = metricsQuery.safeParse(c.req.query());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue.path.length ? String(issue.path[0]) : null;
    throw badRequest(param ? `Invalid ${param}: ${issue.message}` : issue.message, "invalid_request", param);
  }
  const q = parsed.data;
  const to = q.to ?? Date.now();
  const from = q.from ?? to - q.window * 1000;
  if (from > to) throw badRequest("Invalid from: after to", "invalid_request", "from");
  startTime(c, "store", "Metrics store query");
  const report = await read(() =>
    metricsStore(c.env).query({ from, to, methods: q.method ?? null, limit: q.limit, buckets: q.buckets }),
  );
  endTime(c, "store");
  c.header("Cache-Control", "no-store");
  return c.json({ object: "metrics", from, to, method: q.method ?? null, ...report });
});

/** A store read, or 503 metrics_unavailable when the store fails or stalls. */
async function read<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await withStore("reads", call, METRICS_TIMEOUT_MS);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ApiError(
      503,
      `The metrics store is unavailable: ${why}`,
      "service_unavailable",
      "metrics_unavailable",
    );
  }
}

metrics.get("/v1/metrics/requests/:id", async (c) => {
  const id = Number(c.req.param("id"));
  if (!Number.isSafeInteger(id) || id < 1) throw badRequest("Invalid request id", "invalid_request", "id");
  startTime(c, "store", "Metrics store read");
  const detail = await read(() => metricsStore(c.env).request(id));
  endTime(c, "store");
  if (!detail) throw new ApiError(404, `No recorded request ${id}`, "not_found_error", "not_found", "id");
  c.header("Cache-Control", "no-store");
  return c.json({ object: "metrics.request", ...detail });
});
