// The Tail Worker on real trace events: `wrangler dev` runs the Worker and worker/tail/ in one session
// (as `npx wrangler dev -c wrangler.toml -c worker/tail/wrangler.toml`), workerd hands the tail consumer
// each finished request's TraceItem as Cloudflare does, and /v1/metrics then reports the platform's CPU
// and wall time beside the request's record (0 ms locally: local workerd does not measure them). (test/worker/tail.test.ts drives the handler directly: the
// vitest pool calls the Worker in-process, where no trace events are made.) Runs in this project because,
// like the dashboard test, it needs the Worker running under wrangler.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../tools/seed/dev";
import { seedLocalR2 } from "../../tools/seed/seed";
import { tinyModelFiles } from "../wasm/helpers/tiny";

const KEY = "tail-test-key";
const root = mkdtempSync(join(tmpdir(), "atp-tail-"));
let server: DevServer | undefined;

interface Report {
  requests: { rid: string; trace: { cpu_ms: number; wall_ms: number; outcome: string } | null }[];
  trace: { cpu_ms: { count: number; p50: number | null } };
}

beforeAll(async () => {
  const weights = join(root, "weights");
  mkdirSync(weights);
  for (const [k, v] of tinyModelFiles("q8")) writeFileSync(join(weights, k), v);
  const persistTo = join(root, "state");
  await seedLocalR2({ weightsDir: weights, persistTo, configPath: "wrangler.toml" });
  server = await startDevServer({
    persistTo,
    alsoConfigs: ["worker/tail/wrangler.toml"],
    vars: { API_KEY: KEY },
  });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe("the Tail Worker under wrangler dev", () => {
  it("receives each answer's trace events and stores the platform's CPU and wall time", async () => {
    const png = readFileSync("test/fixtures/images/shapes.png").toString("base64");
    const body = {
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what color is the square ?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } },
          ],
        },
      ],
      max_tokens: 2,
    };
    const headers = { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" };
    const res = await fetch(`${server!.url}/v1/chat/completions`, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    let report: Report | undefined;
    for (let t = 0; t < 200; t++) {
      report = (await (await fetch(`${server!.url}/v1/metrics`, { headers })).json()) as Report;
      if (report.requests[0]?.trace) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const trace = report!.requests[0]?.trace;
    expect(trace, server!.log().slice(-3000)).toBeTruthy();
    expect(trace!.outcome).toBe("ok");
    // local workerd fills the fields but measures nothing (0 ms); Cloudflare's network reports real times
    expect(Number.isFinite(trace!.cpu_ms) && trace!.cpu_ms >= 0).toBe(true);
    expect(Number.isFinite(trace!.wall_ms) && trace!.wall_ms >= 0).toBe(true);
    expect(report!.trace.cpu_ms.count).toBe(1);
    console.log(`trace from wrangler dev: ${JSON.stringify(trace)}`);
  }, 60_000);
});
