// The Tail Worker (worker/tail/wrangler.toml; the main Worker names it in `tail_consumers`): Cloudflare
// hands it each finished invocation of atp-edge as a TraceItem with the CPU and wall time the platform
// measured -- the figures that hold in production, where the Worker's own clock stands still during
// compute. It finds the answer's log line (worker/serve/request.ts logOutcome: `{"event":"answer","rid":..}`)
// and stores the trace under that id in the metrics store, where /v1/metrics and the dashboard join it
// to the request's record.
import { metricsStore, type MetricsStore, type RequestTrace } from "../metrics/store";
import { withTimeout } from "../timeout";
import { METRICS_TIMEOUT_MS } from "../limits";

export interface TailEnv {
  METRICS: DurableObjectNamespace<MetricsStore>;
}

/** The answers among `events`: their request id, and what the platform measured. */
export function answerTraces(events: readonly TraceItem[]): ({ rid: string; ts: number } & RequestTrace)[] {
  const out: ({ rid: string; ts: number } & RequestTrace)[] = [];
  for (const ev of events) {
    const rid = answerId(ev.logs ?? []);
    if (rid === null) continue;
    out.push({
      rid,
      ts: ev.eventTimestamp ?? Date.now(),
      cpu_ms: ev.cpuTime,
      wall_ms: ev.wallTime,
      outcome: ev.outcome,
    });
  }
  return out;
}

/** The rid of the answer log line among `logs` (console.log's arguments), or null. */
function answerId(logs: readonly TraceLog[]): string | null {
  for (const log of logs) {
    const parts: unknown[] = Array.isArray(log.message) ? log.message : [log.message];
    for (const part of parts) {
      if (typeof part !== "string" || !part.startsWith("{")) continue;
      try {
        const msg = JSON.parse(part) as { event?: unknown; rid?: unknown };
        if (msg.event === "answer" && typeof msg.rid === "string" && msg.rid.length <= 64) return msg.rid;
      } catch {
        // not the answer line
      }
    }
  }
  return null;
}

export default {
  async tail(events: TraceItem[], env: TailEnv): Promise<void> {
    const store = metricsStore(env);
    for (const t of answerTraces(events)) {
      const { rid, ts, ...trace } = t;
      await withTimeout(store.recordTrace(rid, trace, ts), METRICS_TIMEOUT_MS, "metrics store: no answer");
    }
  },
} satisfies ExportedHandler<TailEnv>;
