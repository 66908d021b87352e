// The Tail Worker (worker/tail/index.ts): trace items of finished invocations, shaped as workerd hands
// them to a tail handler (workers-types TraceItem), joined to the request they belong to through the id
// in the answer's log line; /v1/metrics then reports Cloudflare's CPU and wall time beside the record.
// The items are built here from a real request's id: the vitest pool calls the Worker in-process, where
// workerd makes no trace events; test/browser/tail.test.ts runs the real ones under wrangler dev.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import tail, { answerTraces } from "../../worker/tail/index";
import { call, chatBody, IMAGES, seedWeights } from "./helpers/api";

const item = (logs: unknown[], cpuTime: number, wallTime: number): TraceItem =>
  ({
    event: { request: { url: "http://localhost/v1/chat/completions", method: "POST", headers: {} } },
    eventTimestamp: Date.now(),
    logs: logs.map((message) => ({ timestamp: Date.now(), level: "log", message: [message] })),
    exceptions: [],
    diagnosticsChannelEvents: [],
    scriptName: "atp-edge",
    outcome: "ok",
    executionModel: "stateless",
    truncated: false,
    cpuTime,
    wallTime,
  }) as unknown as TraceItem;

interface Report {
  requests: { rid: string; trace: { cpu_ms: number; wall_ms: number; outcome: string } | null }[];
  trace: { cpu_ms: { count: number; p50: number | null }; wall_ms: { count: number; p50: number | null } };
}
const metrics = async () => (await (await call("/v1/metrics?method=dart")).json()) as Report;

beforeAll(() => seedWeights());

describe("the Tail Worker", () => {
  it("finds the answer line's id and ignores everything else", () => {
    const line = JSON.stringify({ event: "answer", rid: "r-1", route: "chat", tokens: 3 });
    const got = answerTraces([
      item(["starting", line], 7, 30),
      item([JSON.stringify({ event: "other", rid: "x" }), "{not json", 5], 1, 2),
      item([], 1, 1),
    ]);
    expect(got).toEqual([{ rid: "r-1", ts: expect.any(Number), cpu_ms: 7, wall_ms: 30, outcome: "ok" }]);
  });

  it("stores Cloudflare's CPU and wall time with the request's record", async () => {
    const res = await call(
      "/v1/chat/completions",
      chatBody(IMAGES["shapes.png"], undefined, { max_tokens: 2, atp: { method: "dart" } }),
    );
    expect(res.status).toBe(200);
    let before: Report | undefined;
    for (let t = 0; t < 100 && !before?.requests.length; t++) {
      before = await metrics(); // the record lands after the response (waitUntil)
      if (!before.requests.length) await new Promise((r) => setTimeout(r, 20));
    }
    const rid = before!.requests[0].rid;
    expect(rid).toMatch(/^[0-9a-f-]{36}$/);
    expect(before!.requests[0].trace).toBeNull();
    const line = JSON.stringify({ event: "answer", rid, route: "chat" });
    await tail.tail([item([line], 12.5, 40)], env as never);
    const after = await metrics();
    expect(after.requests[0].trace).toEqual({ cpu_ms: 12.5, wall_ms: 40, outcome: "ok" });
    expect(after.trace.cpu_ms).toMatchObject({ count: 1, p50: 12.5 });
    expect(after.trace.wall_ms).toMatchObject({ count: 1, p50: 40 });
  });
});
