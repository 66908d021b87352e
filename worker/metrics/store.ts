// The metrics store: one SQLite-backed Durable Object (binding METRICS, wrangler.toml) holding a row per
// recorded request, which Miniflare runs for real in `wrangler dev` and the tests. Requests write through
// `record` (RPC, after the response, from waitUntil); /v1/metrics reads `query` and the pruning map reads
// `request`. Retention is bounded three ways: rows older than MAX_AGE_MS, more than MAX_REQUESTS rows,
// and thumbnails beyond the newest MAX_THUMBS (the bulk of the bytes).
import { DurableObject } from "cloudflare:workers";
import { withTimeout } from "../timeout";
import type { MetricsRecord } from "./record";
import {
  latencySeries,
  percentiles,
  type LatencySample,
  type LatencySeries,
  type Percentiles,
} from "./stats";

/** Rows kept at most (~1 KB each without the thumbnail). */
export const MAX_REQUESTS = 20_000;
/** Age after which a row is dropped: a week. */
export const MAX_AGE_MS = 7 * 24 * 3600 * 1000;
/** Thumbnails kept (96 x 96 x 3 = 27 KB each): the pruning map is for recent requests. */
export const MAX_THUMBS = 500;
/** Rows a query reads at most (newest first); percentiles over more would cost the dashboard its speed. */
export const MAX_SCAN = 5_000;

/** The name of the one store instance. */
export const STORE_NAME = "metrics";

/** What /v1/metrics asks for. */
export interface MetricsQuery {
  /** Window, ms since the epoch, inclusive. */
  from: number;
  to: number;
  /** Only these methods; all when null. */
  methods: string[] | null;
  /** Requests listed in the answer (newest first). */
  limit: number;
  /** Time buckets of the percentile series. */
  buckets: number;
}

/** What Cloudflare's trace says a request cost (a Tail Worker's TraceItem, worker/tail/). */
export interface RequestTrace {
  cpu_ms: number;
  wall_ms: number;
  outcome: string;
}

/** A listed request: the record without its kept indices and thumbnail, with its trace once it came. */
export type RequestRow = Omit<MetricsRecord, "kept_per_layer" | "thumb"> & {
  id: number;
  has_thumb: boolean;
  trace: RequestTrace | null;
};

/** One request with what the pruning map needs. */
export type RequestDetail = RequestRow & {
  kept_per_layer: number[][];
  thumb: { size: number; rgb_base64: string } | null;
};

/** The answer of `query`. */
export interface MetricsReport {
  count: number;
  /** True when the window held more than MAX_SCAN rows and only the newest were read. */
  truncated: boolean;
  methods: Record<string, number>;
  ttft_ms: Percentiles;
  itl_ms: Percentiles;
  /** The cost model's estimates (one ITL per request: its mean step), over the requests that have one. */
  estimate: { ttft_ms: Percentiles; itl_ms: Percentiles; cpu_ms: Percentiles };
  /** Requests whose in-process clock stood still (measured figures ~0: use the estimate). */
  frozen_clock: number;
  /** Requests answered from a cached vision output (follow-ups on an image seen before). */
  vision_cached: number;
  /** CPU and wall time per request from Cloudflare's traces (the Tail Worker), over the traced requests. */
  trace: { cpu_ms: Percentiles; wall_ms: Percentiles };
  /** Percentiles per time bucket, over the span from the oldest to the newest request read. */
  series: LatencySeries;
  requests: RequestRow[];
}

type Row = {
  id: number;
  body: string;
  has_thumb: number;
  trace_cpu: number | null;
  trace_wall: number | null;
  trace_outcome: string | null;
};

/** The bindings the store reads: none (it lives on its own SQLite storage). */
type StoreEnv = Record<string, never>;

export class MetricsStore extends DurableObject<StoreEnv> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: StoreEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS requests (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        method TEXT NOT NULL,
        body TEXT NOT NULL,
        kept TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS requests_ts ON requests (ts);
      CREATE TABLE IF NOT EXISTS thumbs (id INTEGER PRIMARY KEY, size INTEGER NOT NULL, rgb BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS traces (
        rid TEXT PRIMARY KEY,
        ts INTEGER NOT NULL,
        cpu_ms REAL NOT NULL,
        wall_ms REAL NOT NULL,
        outcome TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS traces_ts ON traces (ts);
    `);
  }

  /** Stores one request and applies the retention bounds; returns its id. */
  record(rec: MetricsRecord): number {
    const { kept_per_layer, thumb, ...rest } = rec;
    const row = this.sql
      .exec<{ id: number }>(
        "INSERT INTO requests (ts, method, body, kept) VALUES (?, ?, ?, ?) RETURNING id",
        rec.ts,
        rec.method,
        JSON.stringify(rest),
        JSON.stringify(kept_per_layer),
      )
      .one();
    if (thumb)
      this.sql.exec("INSERT INTO thumbs (id, size, rgb) VALUES (?, ?, ?)", row.id, thumb.size, thumb.rgb);
    // ids only grow, so both count bounds are range deletes on the primary key
    this.sql.exec("DELETE FROM requests WHERE id <= ? OR ts < ?", row.id - MAX_REQUESTS, rec.ts - MAX_AGE_MS);
    this.sql.exec("DELETE FROM thumbs WHERE id <= ?", row.id - MAX_THUMBS);
    return row.id;
  }

  /**
   * Stores what Cloudflare's trace says request `rid` cost (the Tail Worker calls it after the request;
   * the record may come before or after). Traces age out like the requests.
   */
  recordTrace(rid: string, t: RequestTrace, ts: number): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO traces (rid, ts, cpu_ms, wall_ms, outcome) VALUES (?, ?, ?, ?, ?)",
      rid,
      ts,
      t.cpu_ms,
      t.wall_ms,
      t.outcome,
    );
    this.sql.exec("DELETE FROM traces WHERE ts < ?", ts - MAX_AGE_MS);
  }

  /** Rows stored now (tests and the retention check). */
  size(): { requests: number; thumbs: number } {
    const count = (table: string) =>
      this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n;
    return { requests: count("requests"), thumbs: count("thumbs") };
  }

  /** Percentiles, their series over time and the newest requests of a window. */
  query(q: MetricsQuery): MetricsReport {
    const methodClause = q.methods ? ` AND r.method IN (${q.methods.map(() => "?").join(", ")})` : "";
    const rows = this.sql
      .exec<Row>(
        `SELECT r.id AS id, body, t.id IS NOT NULL AS has_thumb, tr.cpu_ms AS trace_cpu, tr.wall_ms AS trace_wall, tr.outcome AS trace_outcome
         FROM requests r LEFT JOIN thumbs t ON t.id = r.id LEFT JOIN traces tr ON tr.rid = json_extract(r.body, '$.rid')
         WHERE r.ts >= ? AND r.ts <= ?${methodClause} ORDER BY r.id DESC LIMIT ?`,
        q.from,
        q.to,
        ...(q.methods ?? []),
        MAX_SCAN + 1,
      )
      .toArray();
    const truncated = rows.length > MAX_SCAN;
    const parsed = rows.slice(0, MAX_SCAN).map(toRequestRow);
    const ttft: number[] = [];
    const itl: number[] = [];
    const methods = new Map<string, number>(); // a Map: "__proto__" is a method string like any other
    const est = { ttft: [] as number[], itl: [] as number[], cpu: [] as number[] };
    const traced = { cpu: [] as number[], wall: [] as number[] };
    let frozen = 0;
    let cached = 0;
    for (const r of parsed) {
      ttft.push(r.ttft_ms);
      for (const x of r.itl_ms) itl.push(x);
      if (r.estimate) {
        est.ttft.push(r.estimate.ttft_ms);
        if (r.itl_ms.length) est.itl.push(r.estimate.itl_ms);
        est.cpu.push(r.estimate.cpu_ms);
      }
      if (r.clock === "frozen") frozen++;
      if (r.vision_cached) cached++;
      if (r.trace) {
        traced.cpu.push(r.trace.cpu_ms);
        traced.wall.push(r.trace.wall_ms);
      }
      methods.set(r.method, (methods.get(r.method) ?? 0) + 1);
    }
    const samples: LatencySample[] = parsed;
    // the series spans the requests found, not the whole window: a burst keeps its resolution
    const first = parsed.length ? parsed[parsed.length - 1].ts : q.from;
    const last = parsed.length ? parsed[0].ts + 1 : q.to;
    return {
      count: parsed.length,
      truncated,
      methods: Object.fromEntries(methods), // own data properties, whatever the names
      ttft_ms: percentiles(ttft),
      itl_ms: percentiles(itl),
      estimate: {
        ttft_ms: percentiles(est.ttft),
        itl_ms: percentiles(est.itl),
        cpu_ms: percentiles(est.cpu),
      },
      frozen_clock: frozen,
      vision_cached: cached,
      trace: { cpu_ms: percentiles(traced.cpu), wall_ms: percentiles(traced.wall) },
      series: latencySeries(samples, first, last, q.buckets),
      requests: parsed.slice(0, q.limit),
    };
  }

  /** One request with its kept indices and thumbnail; null when unknown or expired. */
  request(id: number): RequestDetail | null {
    const row = this.sql
      .exec<Row & { kept: string }>(
        `SELECT r.id AS id, body, kept, t.id IS NOT NULL AS has_thumb, tr.cpu_ms AS trace_cpu, tr.wall_ms AS trace_wall, tr.outcome AS trace_outcome
         FROM requests r LEFT JOIN thumbs t ON t.id = r.id LEFT JOIN traces tr ON tr.rid = json_extract(r.body, '$.rid') WHERE r.id = ?`,
        id,
      )
      .toArray()[0];
    if (!row) return null;
    const thumb = this.sql
      .exec<{ size: number; rgb: ArrayBuffer }>("SELECT size, rgb FROM thumbs WHERE id = ?", id)
      .toArray()[0];
    return {
      ...toRequestRow(row),
      kept_per_layer: JSON.parse(row.kept) as number[][],
      thumb: thumb ? { size: thumb.size, rgb_base64: base64(new Uint8Array(thumb.rgb)) } : null,
    };
  }
}

function toRequestRow(row: Row): RequestRow {
  const body = JSON.parse(row.body) as Omit<RequestRow, "id" | "has_thumb" | "trace">;
  return {
    id: row.id,
    has_thumb: row.has_thumb > 0,
    trace:
      row.trace_cpu === null || row.trace_cpu === undefined
        ? null
        : { cpu_ms: row.trace_cpu, wall_ms: row.trace_wall ?? 0, outcome: row.trace_outcome ?? "" },
    ...body,
    vision_cached: body.vision_cached ?? false, // rows recorded before the field
  };
}

function base64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** The store's stub (one instance for the whole deployment) from the Worker's METRICS binding. */
/** How the store has failed in this isolate (/health reports it). */
export const storeFailures = { writes: 0, reads: 0, lastError: null as string | null };

/**
 * A call to the store with a time limit: rejects when `call` fails or has not answered within `ms`, and
 * counts the failure (a write failing is counted and logged; it never reaches a request).
 */
export async function withStore<T>(kind: "writes" | "reads", call: () => Promise<T>, ms: number): Promise<T> {
  try {
    return await withTimeout(call(), ms, `the metrics store did not answer within ${ms} ms`);
  } catch (err) {
    storeFailures[kind]++;
    storeFailures.lastError = err instanceof Error ? err.message : String(err);
    throw err;
  }
}

export function metricsStore(env: {
  METRICS: DurableObjectNamespace<MetricsStore>;
}): DurableObjectStub<MetricsStore> {
  return env.METRICS.get(env.METRICS.idFromName(STORE_NAME));
}
