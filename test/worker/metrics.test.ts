// Per-request metrics end to end in workerd: requests through the real Worker are recorded in the
// SQLite-backed Durable Object after their response (waitUntil), /v1/metrics reports them (percentiles,
// method filter, series), /v1/metrics/requests/:id returns what each layer kept and the thumbnail, the
// API responses carry Server-Timing, the key guards the metrics, and retention bounds the store.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import app from "../../worker/index";
import type { MetricsRecord } from "../../worker/metrics/record";
import { MAX_AGE_MS, MAX_THUMBS, metricsStore } from "../../worker/metrics/store";
import { parseConfig } from "../../wasm/config";
import { call, chatBody, IMAGES, seedWeights, WEIGHT_FILES } from "./helpers/api";

/** The served (tiny) model's input size: thumbnails are drawn at it. */
const IMAGE_SIZE = parseConfig(JSON.parse(new TextDecoder().decode(WEIGHT_FILES.get("config.json")))).vision
  .imageSize;

interface Report {
  count: number;
  vision_cached: number;
  methods: Record<string, number>;
  ttft_ms: { count: number; p50: number | null; p95: number | null; p99: number | null };
  itl_ms: { count: number; p50: number | null; p95: number | null; p99: number | null };
  series: { t: number[]; requests: number[]; ttft_p50: (number | null)[] };
  requests: (Omit<MetricsRecord, "kept_per_layer" | "thumb"> & { id: number; has_thumb: boolean })[];
}

interface Answer {
  usage: { completion_tokens: number };
  atp: { visual_tokens: { per_layer: number[]; total: number }; vision_cached: boolean };
}

/** Polls /v1/metrics until `n` requests are recorded (the writes run after the responses). */
async function recorded(n: number, query = ""): Promise<Report> {
  for (let i = 0; i < 100; i++) {
    const r = (await (await call(`/v1/metrics${query}`)).json()) as Report;
    if (r.count >= n) return r;
    await new Promise((ok) => setTimeout(ok, 20));
  }
  throw new Error(`metrics: fewer than ${n} requests recorded`);
}

const REQUESTS: { method: string; knobs?: Record<string, number> }[] = [
  { method: "none" },
  { method: "grid", knobs: { layer: 0, tokens: 4 } },
  { method: "fastv", knobs: { k: 1, ratio: 0.5 } },
];
const answers: Answer[] = [];
const timingHeaders: string[] = [];

beforeAll(async () => {
  await seedWeights();
  for (const atp of REQUESTS) {
    const res = await call(
      "/v1/chat/completions",
      chatBody(IMAGES["shapes.png"], undefined, { max_tokens: 6, atp }),
    );
    expect(res.status).toBe(200);
    timingHeaders.push(res.headers.get("Server-Timing") ?? "");
    answers.push((await res.json()) as Answer);
  }
});

describe("recorded requests", () => {
  it("reports every request with its latencies, breakdown and visual tokens", async () => {
    const r = await recorded(REQUESTS.length);
    expect(r.count).toBe(REQUESTS.length);
    expect(r.methods).toEqual({ none: 1, grid: 1, fastv: 1 });
    const byMethod = Object.fromEntries(r.requests.map((q) => [q.method, q]));
    REQUESTS.forEach(({ method }, i) => {
      const q = byMethod[method];
      const a = answers[i];
      expect(q.itl_ms).toHaveLength(a.usage.completion_tokens - 1);
      expect(q.visual_per_layer).toEqual(a.atp.visual_tokens.per_layer);
      expect(q.visual_total).toBe(a.atp.visual_tokens.total);
      expect(q.model).toBe("atp-tiny");
      expect(q.route).toBe("/v1/chat/completions");
      expect(q.has_thumb).toBe(true);
      expect(q.vision_cached).toBe(a.atp.vision_cached);
      const b = q.breakdown;
      if (q.vision_cached) expect([b.preprocess, b.vision]).toEqual([0, 0]);
      expect(b.llm_layers).toHaveLength(a.atp.visual_tokens.per_layer.length);
      const parts =
        b.image_decode + b.model_wait + b.queue + b.preprocess + b.vision + b.projector + b.pruning;
      expect(parts + b.llm_layers.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(q.ttft_ms + 1e-2);
      expect(q.ttft_ms).toBeGreaterThan(0);
    });
    // the first request loaded the model; the others found it loaded, and the image's vision output
    expect(r.requests.map((q) => q.cold).sort()).toEqual([false, false, true]);
    expect(answers.map((a) => a.atp.vision_cached)).toEqual([false, true, true]); // one image, asked thrice
    expect(r.vision_cached).toBe(2);
    expect(r.ttft_ms.count).toBe(3);
    const itlCount = r.requests.reduce((n, q) => n + q.itl_ms.length, 0);
    expect(r.itl_ms.count).toBe(itlCount);
    for (const p of [r.ttft_ms, r.itl_ms]) {
      expect(p.p50!).toBeLessThanOrEqual(p.p95!);
      expect(p.p95!).toBeLessThanOrEqual(p.p99!);
    }
    expect(r.series.requests.reduce((x, y) => x + y, 0)).toBe(3);
  });

  it("filters by method and by window", async () => {
    await recorded(REQUESTS.length);
    const grid = await recorded(1, "?method=grid");
    expect(grid.requests.map((q) => q.method)).toEqual(["grid"]);
    const two = await recorded(2, "?method=grid,fastv");
    expect(two.count).toBe(2);
    const later = Date.now() + 60_000;
    const future = (await (await call(`/v1/metrics?from=${later}&to=${later + 1000}`)).json()) as Report;
    expect(future.count).toBe(0);
    expect(future.ttft_ms.p50).toBeNull();
  });

  it("gives each request's kept grid indices per layer and its thumbnail", async () => {
    const r = await recorded(REQUESTS.length);
    for (const q of r.requests) {
      const res = await call(`/v1/metrics/requests/${q.id}`);
      expect(res.status).toBe(200);
      const d = (await res.json()) as {
        kept_per_layer: number[][];
        grid: number;
        thumb: { size: number; rgb_base64: string };
      };
      expect(d.kept_per_layer.map((k) => k.length)).toEqual(q.visual_per_layer);
      expect(d.grid * d.grid).toBe(q.visual_total);
      d.kept_per_layer.forEach((kept, l) => {
        const before = new Set(l === 0 ? kept : d.kept_per_layer[l - 1]);
        expect(kept.every((g) => before.has(g) && g >= 0 && g < q.visual_total)).toBe(true);
      });
      expect(d.thumb.size).toBe(IMAGE_SIZE); // the model's input size (config.json)
      const rgb = Uint8Array.from(atob(d.thumb.rgb_base64), (ch) => ch.charCodeAt(0));
      expect(rgb.length).toBe(IMAGE_SIZE * IMAGE_SIZE * 3);
      expect(new Set(rgb).size).toBeGreaterThan(2); // a picture, not a blank
    }
    const grid = r.requests.find((q) => q.method === "grid")!;
    expect(grid.visual_per_layer.at(-1)).toBeLessThan(grid.visual_total);
    expect((await call("/v1/metrics/requests/999999")).status).toBe(404);
    expect((await call("/v1/metrics/requests/abc")).status).toBe(400);
  });

  it("answers 400 for bad queries", async () => {
    for (const q of ["?method=bogus", "?window=-5", "?limit=x", "?nope=1", "?from=10&to=5"]) {
      const res = await call(`/v1/metrics${q}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error" } });
    }
  });
});

describe("Server-Timing", () => {
  it("is on the completions (with the engine's parts) and on /v1/metrics", async () => {
    for (const h of timingHeaders) {
      for (const name of ["image", "model", "preprocess", "vision", "llm", "pruning", "ttft", "total"]) {
        expect(h).toMatch(new RegExp(`(^|, ?)${name};`));
      }
    }
    const m = await call("/v1/metrics");
    expect(m.headers.get("Server-Timing")).toMatch(/store;dur=[\d.]+/);
    expect((await call("/v1/models")).headers.get("Server-Timing")).toMatch(/total;dur=/);
  });
});

describe("API key", () => {
  it("guards /v1/metrics; the dashboard page itself holds no data and stays open", async () => {
    const withKey = { ...env, API_KEY: "sk-metrics" };
    const get = (path: string, headers: Record<string, string> = {}) =>
      app.fetch(new Request(`http://localhost${path}`, { headers }), withKey);
    expect((await get("/v1/metrics")).status).toBe(401);
    expect((await get("/v1/metrics/requests/1")).status).toBe(401);
    expect((await get("/v1/metrics", { Authorization: "Bearer sk-metrics" })).status).toBe(200);
    expect((await get("/dashboard")).status).toBe(200);
  });
});

describe("the dashboard's files", () => {
  it("serves the page, its modules and uPlot from the Worker", async () => {
    const page = await call("/dashboard");
    expect(page.headers.get("Content-Type")).toMatch(/^text\/html/);
    const html = await page.text();
    for (const src of [
      "/dashboard/uPlot.iife.min.js",
      "/dashboard/dashboard.js",
      "/dashboard/uPlot.min.css",
    ]) {
      expect(html).toContain(src);
      const res = await call(src);
      expect(res.status).toBe(200);
      expect((await res.text()).length).toBeGreaterThan(500);
    }
    expect(await (await call("/dashboard/uPlot.iife.min.js")).text()).toMatch(/uPlot/);
    expect((await call("/dashboard/charts.js")).headers.get("Content-Type")).toMatch(/javascript/);
    expect((await call("/dashboard/constructor")).status).toBe(404);
  });
});

describe("retention", () => {
  const record = (ts: number, method = "none"): MetricsRecord => ({
    rid: crypto.randomUUID(),
    ts,
    route: "/v1/describe",
    model: "atp-tiny",
    method,
    budget: null,
    cold: false,
    vision_cached: false,
    stopped_by: "eos",
    prompt_tokens: 10,
    ttft_ms: 5,
    itl_ms: [1, 2],
    request_ms: 8,
    breakdown: {
      image_decode: 0,
      model_wait: 0,
      preprocess: 1,
      vision: 1,
      projector: 0,
      llm_layers: [1],
      pruning: 0,
      queue: 0,
      other: 0,
    },
    visual_per_layer: [4],
    visual_total: 4,
    kept_per_layer: [[0, 1, 2, 3]],
    grid: 2,
    llm_prefill_macs: 1,
    clock: "running",
    estimate: null,
    thumb: { size: 2, rgb: new Uint8Array(12) },
  });

  it("reports the cost model's estimates apart, and counts requests whose clock stood still", async () => {
    const now = Date.now();
    const method = "cdpruner"; // no other test records this method
    const frozen = { ...record(now, method), clock: "frozen" as const, ttft_ms: 0, itl_ms: [0, 0] };
    await store().record({ ...frozen, estimate: { ttft_ms: 12, itl_ms: 0.3, cpu_ms: 14 } });
    await store().record({ ...frozen, estimate: { ttft_ms: 16, itl_ms: 0.5, cpu_ms: 18 } });
    await store().record(record(now, method)); // no cost table: no estimate
    // a row written before records had vision_cached reads false
    const { vision_cached: _, ...older } = record(now, method);
    await store().record(older as MetricsRecord);
    const r = (await (await call(`/v1/metrics?method=${method}`)).json()) as Report & {
      estimate: Record<string, { count: number; p50: number | null }>;
      frozen_clock: number;
    };
    expect(r.count).toBe(4);
    expect(r.frozen_clock).toBe(2);
    expect(r.vision_cached).toBe(0);
    expect(r.requests.map((q) => q.vision_cached)).toEqual([false, false, false, false]);
    expect(r.estimate.ttft_ms).toMatchObject({ count: 2, p50: 14 });
    expect(r.estimate.itl_ms).toMatchObject({ count: 2, p50: 0.4 });
    expect(r.estimate.cpu_ms).toMatchObject({ count: 2, p50: 16 });
  });
  const store = () => metricsStore(env);

  it("drops rows past the age bound and thumbnails past the count bound", async () => {
    const store = metricsStore(env);
    const before = await store.size();
    const now = Date.now();
    await store.record(record(now - MAX_AGE_MS - 60_000, "random"));
    await store.record(record(now));
    const r = (await (await call(`/v1/metrics?method=random&window=${MAX_AGE_MS / 1000}`)).json()) as Report;
    expect(r.count).toBe(0);
    const after = await store.size();
    expect(after.requests).toBe(before.requests + 1);
    for (let i = 0; i < MAX_THUMBS + 5; i++) await store.record(record(now));
    const full = await store.size();
    expect(full.thumbs).toBe(MAX_THUMBS);
    expect(full.requests).toBe(after.requests + MAX_THUMBS + 5);
  });
});
