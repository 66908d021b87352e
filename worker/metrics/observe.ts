// The request path's side of metrics: marks the time of each token as it leaves the engine, and once
// the answer is done builds the record (worker/metrics/record.ts), adds Server-Timing entries while the
// response is still open (non-streaming routes) and hands the record to the store through waitUntil, so
// the write happens after the response and a failing store never fails a request.
import type { Context } from "hono";
import { setMetric } from "hono/timing";
import type { TokenEvent } from "../../wasm/index";
import type { AppEnv } from "../env";
import type { Outcome } from "../serve/answer";
import { buildRecord, type MetricsRecord, type RequestMarks } from "./record";
import { METRICS_TIMEOUT_MS } from "../limits";
import { metricsStore, withStore } from "./store";

/** Passes `answer` through, stamping each token's arrival in `marks.tokenAt`; `onEnd` gets the Outcome. */
export async function* observe(
  answer: AsyncGenerator<TokenEvent, Outcome>,
  marks: RequestMarks,
  onEnd: (o: Outcome) => void,
): AsyncGenerator<TokenEvent, Outcome> {
  for (;;) {
    const r = await answer.next();
    if (r.done) {
      onEnd(r.value);
      return r.value;
    }
    marks.tokenAt.push(performance.now());
    yield r.value;
  }
}

/** Server-Timing entries of a finished answer (ms; Hono's timing middleware writes the header). */
export function serverTiming(c: Context<AppEnv>, rec: MetricsRecord): void {
  const b = rec.breakdown;
  const itl = rec.itl_ms;
  setMetric(c, "preprocess", b.preprocess, "Image preprocessing");
  setMetric(c, "vision", b.vision, "Vision encoder");
  setMetric(c, "projector", b.projector, "Projector");
  setMetric(
    c,
    "llm",
    b.llm_layers.reduce((x, y) => x + y, 0),
    "LLM prefill layers",
  );
  setMetric(c, "pruning", b.pruning, `Pruning (${rec.method})`);
  setMetric(c, "ttft", rec.ttft_ms, "Time to first token");
  if (itl.length)
    setMetric(c, "itl", itl.reduce((x, y) => x + y, 0) / itl.length, "Mean inter-token latency");
}

/** Finishes the metrics of an answer: the record built, Server-Timing set, the write handed to waitUntil. */
export function finishMetrics(c: Context<AppEnv>, o: Outcome, marks: RequestMarks): MetricsRecord {
  const rec = buildRecord(o, marks);
  serverTiming(c, rec);
  if (c.env.METRICS) {
    const write = withStore("writes", () => metricsStore(c.env).record(rec), METRICS_TIMEOUT_MS).catch(
      (err: unknown) => console.error(`metrics write failed: ${String(err)}`),
    );
    try {
      c.executionCtx.waitUntil(write);
    } catch {
      // no execution context (app.fetch without one): the write still runs
    }
  }
  return rec;
}
