// npm run bench:load -- --help prints the flags (USAGE below).
// A bounded load generator against the Worker: `wrangler dev` on a free port with a fresh local R2 seeded
// from weights/ (or --url for one already running). First every distinct request (a test-split image with
// a question or a caption request, some streamed) is sent alone, one at a time: its solo answer. Then
// --requests are drawn from them (seeded) and sent by --concurrency clients; some streams are cancelled
// after their first token. A request refused with 503/429 is retried after its Retry-After, up to
// --retries times (after retry-after-ms when sent, as OpenAI's client does). Every request has a client-side limit of its deadline plus 10 s: one still open then
// counts as hung. Reports requests/s, TTFT (first content for streams, the whole answer otherwise) and
// end-to-end p50/p95/p99, the server's queue wait, status counts per attempt, the share refused, and
// whether every 200 answer equals its solo answer; writes out/bench/load.json. It stops by itself.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadSplit, type EvalItem } from "../eval/data";
import { startSeededDevServer, type DevServer } from "../seed/dev";
import { rgbToPng } from "../shapesvqa/png";
import { percentiles, type Percentiles } from "../../worker/metrics/stats";
import { seeded } from "../../wasm/tools";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run bench:load -- [--requests 2000] [--concurrency 32] [--distinct 48] [--stream 0.3] [--cancel 0.05]
    [--caption 0.2] [--deadline-ms 20000] [--retries 30] [--seed 1] [--url URL]`;

const { values } = parseFlags("bench:load", USAGE, {
  requests: { type: "string", default: "2000" },
  concurrency: { type: "string", default: "32" },
  distinct: { type: "string", default: "48" },
  stream: { type: "string", default: "0.3" },
  cancel: { type: "string", default: "0.05" },
  caption: { type: "string", default: "0.2" },
  "deadline-ms": { type: "string", default: "20000" },
  retries: { type: "string", default: "30" },
  seed: { type: "string", default: "1" },
  url: { type: "string" },
  weights: { type: "string", default: "weights" },
  out: { type: "string", default: "out/bench/load.json" },
});
const N = Number(values.requests);
const C = Number(values.concurrency);
const DEADLINE_MS = Number(values["deadline-ms"]);
const RETRIES = Number(values.retries);

/** One distinct request. */
interface Spec {
  id: number;
  body: Record<string, unknown>;
  stream: boolean;
}

function specs(items: EvalItem[], count: number, rand: () => number): Spec[] {
  const out: Spec[] = [];
  for (let id = 0; id < count; id++) {
    const it = items[Math.floor(rand() * items.length)];
    const png = rgbToPng(96, 96, it.image);
    const caption = rand() < Number(values.caption);
    const question = caption ? "what is in the image?" : it.question;
    const stream = rand() < Number(values.stream);
    out.push({
      id,
      stream,
      body: {
        model: "atp-tiny",
        max_tokens: caption ? 24 : 6,
        stream,
        atp: { deadline_ms: DEADLINE_MS },
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: question },
              {
                type: "image_url",
                image_url: { url: `data:image/png;base64,${Buffer.from(png).toString("base64")}` },
              },
            ],
          },
        ],
      },
    });
  }
  return out;
}

/** What one attempt gave. */
interface Attempt {
  status: number | "hung" | "network";
  retryAfterS: number | null;
  retryAfterMs: number | null;
  text: string | null;
  ttftMs: number | null;
  e2eMs: number;
  queueMs: number | null;
  cancelled: boolean;
}

/** Reads an SSE body: the content and the queue wait from the final chunk; cancels after the first token. */
async function readStream(res: Response, t0: number, cancel: boolean, out: Attempt): Promise<void> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = "";
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n\n")) >= 0) {
      const event = buf.slice(0, nl);
      buf = buf.slice(nl + 2);
      const data = event.replace(/^data: /, "");
      if (data === "[DONE]") continue;
      const msg = JSON.parse(data) as {
        error?: { message: string };
        choices?: { delta?: { content?: string } }[];
        atp?: { timings?: { queue_ms?: number } };
      };
      if (msg.error) throw new Error(`stream error: ${msg.error.message}`);
      const piece = msg.choices?.[0]?.delta?.content;
      if (piece) {
        if (out.ttftMs === null) out.ttftMs = performance.now() - t0;
        text += piece;
        if (cancel) {
          await reader.cancel();
          out.cancelled = true;
          out.text = text;
          return;
        }
      }
      if (msg.atp?.timings?.queue_ms !== undefined) out.queueMs = msg.atp.timings.queue_ms;
    }
  }
  out.text = text;
}

async function attempt(url: string, spec: Spec, cancel: boolean): Promise<Attempt> {
  const t0 = performance.now();
  const out: Attempt = {
    status: "network",
    retryAfterS: null,
    retryAfterMs: null,
    text: null,
    ttftMs: null,
    e2eMs: 0,
    queueMs: null,
    cancelled: false,
  };
  const limit = AbortSignal.timeout(DEADLINE_MS + 10_000);
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(spec.body),
      signal: limit,
    });
    out.status = res.status;
    if (res.status !== 200) {
      const ra = res.headers.get("Retry-After");
      out.retryAfterS = ra === null ? null : Number(ra);
      const raMs = res.headers.get("retry-after-ms");
      out.retryAfterMs = raMs === null ? null : Number(raMs);
      await res.text();
    } else if (spec.stream) {
      await readStream(res, t0, cancel, out);
    } else {
      const body = (await res.json()) as {
        choices: { message: { content: string } }[];
        atp: { timings: { queue_ms: number } };
      };
      out.text = body.choices[0].message.content;
      out.queueMs = body.atp.timings.queue_ms;
      out.ttftMs = performance.now() - t0;
    }
  } catch (err) {
    out.status = limit.aborted ? "hung" : "network";
    if (out.status === "network") console.error(`request ${spec.id}: ${String(err)}`);
  }
  out.e2eMs = performance.now() - t0;
  return out;
}

/** A request with its retries. */
interface Outcome {
  spec: Spec;
  attempts: Attempt[];
  waitedMs: number;
}

async function send(url: string, spec: Spec, cancel: boolean): Promise<Outcome> {
  const attempts: Attempt[] = [];
  let waitedMs = 0;
  for (let i = 0; i <= RETRIES; i++) {
    const a = await attempt(url, spec, cancel);
    attempts.push(a);
    if ((a.status !== 503 && a.status !== 429) || i === RETRIES) break;
    // as OpenAI's client: retry-after-ms when given, else Retry-After seconds
    const ms = a.retryAfterMs ?? (a.retryAfterS ?? 1) * 1000;
    waitedMs += ms;
    await new Promise((r) => setTimeout(r, ms));
  }
  return { spec, attempts, waitedMs };
}

const ms = (p: Percentiles) => ({ p50: p.p50, p95: p.p95, p99: p.p99, mean: p.mean });

async function main(): Promise<void> {
  const rand = seeded(Number(values.seed));
  const items = loadSplit("data", "test");
  const distinct = specs(items, Number(values.distinct), rand);
  let server: DevServer | undefined;
  let url = values.url;
  if (!url) {
    server = await startSeededDevServer({ weightsDir: values.weights! });
    url = server.url;
  }
  try {
    // solo answers, one request at a time (non-streamed and streamed alike, never cancelled)
    const solo = new Map<number, string>();
    for (const s of distinct) {
      const o = await send(url, s, false);
      const last = o.attempts[o.attempts.length - 1];
      if (last.status !== 200 || last.text === null) throw new Error(`solo request ${s.id}: ${last.status}`);
      solo.set(s.id, last.text);
    }
    // the load
    const plan = Array.from({ length: N }, () => {
      const spec = distinct[Math.floor(rand() * distinct.length)];
      return { spec, cancel: spec.stream && rand() < Number(values.cancel) / Number(values.stream) };
    });
    const results: Outcome[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: C }, async () => {
        while (next < plan.length) {
          const p = plan[next++];
          results.push(await send(url!, p.spec, p.cancel));
        }
      }),
    );
    const wallS = (performance.now() - t0) / 1000;

    const attempts = results.flatMap((r) => r.attempts);
    const statusCounts: Record<string, number> = {};
    for (const a of attempts) statusCounts[String(a.status)] = (statusCounts[String(a.status)] ?? 0) + 1;
    const finals = results.map((r) => ({ r, last: r.attempts[r.attempts.length - 1] }));
    const answered = finals.filter((f) => f.last.status === 200);
    const mismatches = answered.filter(({ r, last }) => {
      const want = solo.get(r.spec.id)!;
      return last.cancelled ? !want.startsWith(last.text ?? "") : last.text !== want;
    });
    const refusedAttempts = attempts.filter((a) => a.status === 503 || a.status === 429);
    const report = {
      requests: N,
      concurrency: C,
      distinct: distinct.length,
      deadline_ms: DEADLINE_MS,
      wall_s: Math.round(wallS * 10) / 10,
      requests_per_s: Math.round((answered.length / wallS) * 10) / 10,
      attempts: attempts.length,
      status_counts: statusCounts,
      server_errors_5xx_other_than_503: attempts.filter(
        (a) => typeof a.status === "number" && a.status >= 500 && a.status !== 503,
      ).length,
      hung: attempts.filter((a) => a.status === "hung").length,
      network_errors: attempts.filter((a) => a.status === "network").length,
      refused_share_of_attempts: Math.round((refusedAttempts.length / attempts.length) * 1000) / 1000,
      requests_refused_at_least_once: results.filter((r) => r.attempts.length > 1).length,
      refused_without_retry_after: refusedAttempts.filter(
        (a) => a.retryAfterS === null || !(a.retryAfterS >= 1),
      ).length,
      retry_after_s: ms(percentiles(refusedAttempts.map((a) => a.retryAfterS ?? 0))),
      retry_after_ms: ms(percentiles(refusedAttempts.map((a) => a.retryAfterMs ?? 0))),
      answered: answered.length,
      unanswered: N - answered.length,
      cancelled: answered.filter((f) => f.last.cancelled).length,
      identical_to_solo: mismatches.length === 0,
      mismatches: mismatches.length,
      ttft_ms: ms(percentiles(answered.map((f) => f.last.ttftMs ?? f.last.e2eMs))),
      e2e_ms: ms(percentiles(answered.map((f) => f.last.e2eMs))),
      e2e_with_retries_ms: ms(
        percentiles(answered.map((f) => f.r.attempts.reduce((s, a) => s + a.e2eMs, 0) + f.r.waitedMs)),
      ),
      queue_wait_ms: ms(
        percentiles(answered.filter((f) => f.last.queueMs !== null).map((f) => f.last.queueMs!)),
      ),
    };
    mkdirSync(join(values.out!, ".."), { recursive: true });
    writeFileSync(values.out!, JSON.stringify(report, null, 2) + "\n");
    console.log(JSON.stringify(report, null, 2));
    console.log(`wrote ${values.out}`);
    if (server) writeFileSync(values.out!.replace(/\.json$/, ".server.log"), server.log());
  } finally {
    await server?.stop();
  }
}

main().catch((err: Error) => {
  console.error(`bench:load: ${err.stack ?? err.message}`);
  process.exit(1);
});
