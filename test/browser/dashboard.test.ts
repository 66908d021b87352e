// The dashboard in a real browser: `wrangler dev` on local R2 seeded with a model (the tiny random one
// with ATP modules by default), requests with method none and pruned ones (atp, grid, fastv, pdrop), then
// Debian's chromium (driven by playwright-core, headless, offline flags; docs/platform.md "Browser tests and charts")
// opens /dashboard with the API key and we check that the charts are drawn from the data (uPlot's data
// lengths equal the request count, series colours present on the canvases) and that the pruning map
// shows kept and dropped tokens. Skipped where /usr/bin/chromium is absent (.ci/run installs it).
//
// Knobs (environment): DASHBOARD_WEIGHTS=<dir> serves that model (e.g. weights/) instead of the tiny one;
// DASHBOARD_REQUESTS=<n> sends n requests (load-time measurement), DASHBOARD_CONCURRENCY=<c> at a time; DASHBOARD_SCREENSHOT=<png> saves a
// full-page screenshot there (the README's docs/dashboard.png). The page's load time is printed.
import { CHROMIUM_FLAGS } from "../../tools/report/chart";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../tools/seed/dev";
import { seedLocalR2 } from "../../tools/seed/seed";
import { TINY_ATP_CONFIG, tinyModelFiles } from "../wasm/helpers/tiny";

const CHROMIUM = "/usr/bin/chromium";
const KEY = "sk-dashboard-test";
const QUESTIONS = ["what color is the square ?", "what is in the image ?", "how many shapes are there ?"];
const IMAGES = ["shapes.png", "shapes.jpg", "photo.jpg"].map((f) => {
  const type = f.endsWith(".png") ? "image/png" : "image/jpeg";
  return `data:${type};base64,${readFileSync(`test/fixtures/images/${f}`).toString("base64")}`;
});
/** The pruning settings sent in turn for a model of `n` visual tokens: none, ATP, training-free methods. */
const settings = (n: number) => [
  { method: "none" },
  { method: "atp" },
  { method: "grid", knobs: { layer: 0, tokens: Math.round(n / 4) } },
  { method: "fastv", knobs: { k: 1, ratio: 0.6 } },
  { method: "pdrop" },
];
let SETTINGS = settings(16);
const REQUESTS = Number(process.env.DASHBOARD_REQUESTS ?? 12);
/** Requests in flight together (the model serves one at a time; the others queue). */
const CONCURRENCY = Number(process.env.DASHBOARD_CONCURRENCY ?? 4);
/** Chrome flags for a headless run as root on an offline machine (docs/platform.md). */
const FLAGS = CHROMIUM_FLAGS;

const root = mkdtempSync(join(tmpdir(), "atp-dashboard-"));
let server: DevServer | undefined;
let browser: BrowserContext | undefined;

async function send(url: string, i: number): Promise<void> {
  const body = {
    model: "atp-tiny",
    max_tokens: 8 + (i % 5) * 3,
    stream: i % 2 === 1,
    atp: SETTINGS[i % SETTINGS.length],
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: QUESTIONS[i % QUESTIONS.length] },
          { type: "image_url", image_url: { url: IMAGES[i % IMAGES.length] } },
        ],
      },
    ],
  };
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`request ${i}: HTTP ${res.status} ${await res.text()}`);
  await res.text();
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  let weights = process.env.DASHBOARD_WEIGHTS;
  if (!weights) {
    weights = join(root, "weights");
    mkdirSync(weights);
    for (const [k, v] of tinyModelFiles("q8", 1, TINY_ATP_CONFIG)) writeFileSync(join(weights, k), v);
  }
  const config = JSON.parse(readFileSync(join(weights, "config.json"), "utf8")) as {
    image_seq_length: number;
  };
  SETTINGS = settings(config.image_seq_length);
  const persistTo = join(root, "state");
  await seedLocalR2({ weightsDir: weights, persistTo, configPath: "wrangler.toml" });
  server = await startDevServer({ persistTo, vars: { API_KEY: KEY } });
  for (let i = 0; i < REQUESTS; i += CONCURRENCY) {
    const batch = Array.from({ length: Math.min(CONCURRENCY, REQUESTS - i) }, (_, j) => i + j);
    await Promise.all(batch.map((j) => send(server!.url, j)));
  }
  // the writes land after the responses (waitUntil)
  for (let t = 0; t < 200; t++) {
    const res = await fetch(`${server.url}/v1/metrics?limit=0`, {
      headers: { Authorization: `Bearer ${KEY}` },
    });
    if (((await res.json()) as { count: number }).count >= REQUESTS) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  // a fresh profile (--user-data-dir) per run
  browser = await chromium.launchPersistentContext(join(root, "chromium"), {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1440, height: 900 },
    deviceScaleFactor: 1,
  });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Opens the dashboard and gives it the key through its form (the only way it takes one). */
async function openWithKey(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector("#auth:not([hidden])");
  await page.fill("#key", KEY);
  await page.click("#auth button");
}

const HOSTILE = [
  "<script>window.__pwned=1</script>",
  '"><img src=x onerror="window.__pwned=2">',
  "</td><td onmouseover=window.__pwned=3>",
  "__proto__",
];

describe.skipIf(!existsSync(CHROMIUM))("the dashboard in chromium", () => {
  it("ignores a key in the address and removes it from the address bar", async () => {
    const page = await browser!.newPage();
    const sent: (string | null)[] = [];
    page.on("request", (r) => r.url().includes("/v1/") && sent.push(r.headers()["authorization"] ?? null));
    await page.goto(`${server!.url}/dashboard?key=${KEY}&refresh=60000`);
    await page.waitForSelector("#auth:not([hidden])"); // the API answered 401: the key was not used
    expect(new URL(page.url()).searchParams.has("key")).toBe(false);
    expect(new URL(page.url()).searchParams.get("refresh")).toBe("60000");
    expect(await page.isVisible("#key-in-url")).toBe(true);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((h) => h === null)).toBe(true);
    await page.close();
  }, 60_000);

  it("shows hostile strings from the store as text: no script runs, no markup is made", async () => {
    const auth = { Authorization: `Bearer ${KEY}` };
    const report = (await (await fetch(`${server!.url}/v1/metrics?limit=50`, { headers: auth })).json()) as {
      methods: Record<string, number>;
      requests: Record<string, unknown>[];
    };
    const evil = (i: number) => HOSTILE[i % HOSTILE.length];
    report.requests = report.requests.map((q, i) => ({
      ...q,
      method: evil(i),
      stopped_by: evil(i + 1),
      route: evil(i + 2),
    }));
    report.methods = Object.fromEntries(HOSTILE.map((h) => [h, 1]));
    const firstId = report.requests.find((q) => q.has_thumb)?.id;
    const detail = (await (
      await fetch(`${server!.url}/v1/metrics/requests/${firstId}`, { headers: auth })
    ).json()) as Record<string, unknown>;
    const page = await browser!.newPage();
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.route(/\/v1\/metrics\?/, (r) => r.fulfill({ json: report }));
    await page.route(/\/v1\/metrics\/requests\//, (r) =>
      r.fulfill({ json: { ...detail, method: HOSTILE[0] } }),
    );
    await openWithKey(page, `${server!.url}/dashboard?refresh=60000`);
    await page.waitForFunction(
      () => (window as unknown as { __dashboard?: { ready: boolean } }).__dashboard?.ready,
    );
    await page.hover("#requests tbody tr td:nth-child(3)");
    const seen = await page.evaluate(() => ({
      pwned: (window as unknown as { __pwned?: number }).__pwned ?? null,
      scripts: document.querySelectorAll("#cards script, #requests script, #map-request script").length,
      images: document.querySelectorAll("#cards img, #requests img").length,
      cells: document.querySelectorAll("#requests tbody tr:first-child td").length,
      table: document.querySelector("#requests tbody")!.textContent,
      cards: document.querySelector("#cards")!.textContent,
      options: [...document.querySelectorAll("#map-request option")].map((o) => o.textContent),
    }));
    expect(seen.pwned).toBeNull();
    expect(dialogs).toEqual([]);
    expect(seen.scripts + seen.images).toBe(0);
    expect(seen.cells).toBe(11); // no cell broken out of
    for (const h of HOSTILE) {
      expect(seen.table).toContain(h);
      expect(seen.cards).toContain(h);
    }
    expect(seen.options.some((o) => o?.includes(HOSTILE[0]))).toBe(true);
    await page.close();
  }, 60_000);

  it("draws every chart from the recorded requests and the pruning map", async () => {
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    const t0 = Date.now();
    await openWithKey(page, `${server!.url}/dashboard?refresh=60000`);
    await page
      .waitForFunction(() => (window as unknown as { __dashboard?: { ready: boolean } }).__dashboard?.ready)
      .catch(async (err: Error) => {
        const status = await page.textContent("#status").catch(() => "?");
        throw new Error(
          `dashboard not ready (status: ${status}; errors: ${errors.join(" | ")}): ${err.message}`,
        );
      });
    const loadMs = Date.now() - t0;
    console.log(
      `dashboard with ${REQUESTS} requests: ready in ${loadMs} ms (page's own fetch+draw: ${await page.evaluate(() => (window as unknown as { __dashboard: { loadMs: number } }).__dashboard.loadMs.toFixed(0))} ms)`,
    );
    const seen = await page.evaluate(inspectPage);
    // the page's first calls go without a key (401 shows the form); nothing else may fail
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    expect(seen.count).toBe(REQUESTS);
    // uPlot's own data arrays: one bar per request, one line per recent request, one series per method
    expect(seen.breakdown.xs).toBe(Math.min(REQUESTS, 1000));
    expect(seen.breakdown.series).toBe(10);
    expect(seen.tokens.series).toBe(Math.min(REQUESTS, 16) + 1);
    expect(seen.layers.series).toBe(1 + new Set(SETTINGS.slice(0, REQUESTS).map((s) => s.method)).size);
    expect(seen.percentiles.points).toBe(REQUESTS);
    // the series' colours are on the canvases (not just axes and grid)
    expect(seen.breakdown.colored).toBeGreaterThan(200);
    expect(seen.tokens.colored).toBeGreaterThan(50);
    expect(seen.layers.colored).toBeGreaterThan(50);
    expect(seen.percentiles.colored).toBeGreaterThan(20);
    // the pruning map: one panel per LLM layer, fewer tokens kept deeper for a pruned request, and the
    // dimmed (dropped) cells are darker than the kept ones on the canvas
    expect(seen.map.method).not.toBe("none");
    expect(seen.map.panels).toBe(seen.map.layers.length);
    expect(seen.map.layers.at(-1)).toBeLessThan(seen.map.layers[0]);
    expect(seen.map.thumb).toBe(true);
    expect(seen.map.dropped).toBeGreaterThan(0);
    expect(seen.map.droppedDim).toBe(seen.map.dropped);
    expect(seen.map.keptChange).toBeLessThan(2);
    const shot = process.env.DASHBOARD_SCREENSHOT ?? join(root, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).length).toBeGreaterThan(10_000);
  }, 120_000);

  // last: its request is recorded too, which the counts above do not expect
  it("probes from the browser: one streamed request, each token's arrival timed by the browser", async () => {
    const page = await browser!.newPage();
    await openWithKey(page, `${server!.url}/dashboard?refresh=60000`);
    await page.waitForFunction(
      () => (window as unknown as { __dashboard?: { ready: boolean } }).__dashboard?.ready,
    );
    await page.click("#probe-run");
    await page.waitForFunction(
      () => (window as unknown as { __dashboard: { probe?: object } }).__dashboard.probe,
    );
    const p = await page.evaluate(
      () =>
        (
          window as unknown as {
            __dashboard: {
              probe: {
                tokens: number;
                text: string;
                ttft_ms: number;
                itl_ms: number[];
                total_ms: number;
                server: { visual_tokens: { total: number }; stopped_by: string } | null;
              };
            };
          }
        ).__dashboard.probe,
    );
    expect(p.tokens).toBeGreaterThan(0);
    expect(p.text.length).toBeGreaterThan(0);
    expect(p.itl_ms).toHaveLength(p.tokens - 1);
    expect(p.ttft_ms).toBeGreaterThan(0);
    expect(p.total_ms).toBeGreaterThanOrEqual(p.ttft_ms + p.itl_ms.reduce((a, b) => a + b, 0) - 1e-6);
    // the last chunk's atp object came through the stream
    expect(p.server?.visual_tokens.total).toBeGreaterThan(0);
    expect(await page.textContent("#probe-result")).toMatch(/^browser clock: TTFT [0-9.]+ ms/);
    await page.close();
  });
});

/** Runs in the page: what the charts and the map hold and show. */
function inspectPage() {
  type Chart = {
    data: (number | null)[][];
    series: { stroke?: () => string }[];
    ctx: CanvasRenderingContext2D;
    bbox: { left: number; top: number; width: number; height: number };
  };
  const d = (window as unknown as { __dashboard: unknown }).__dashboard as {
    report: { count: number; series: { requests: number[] } };
    charts: Record<"tokens" | "percentiles" | "breakdown" | "layers", Chart>;
    map: { method: string; grid: number; kept: number[][]; layers: number[]; thumb: boolean };
  };
  const hex = (c: string) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
  // pixels of the plot area close to one of the series' colours
  const colored = (u: Chart) => {
    const colors = u.series.slice(1).map((s) => hex(s.stroke ? s.stroke() : "#000000"));
    const { left, top, width, height } = u.bbox;
    const px = u.ctx.getImageData(left, top, width, height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] < 60) continue;
      const near = ([r, g, b]: number[]) =>
        Math.abs(px[i] - r) + Math.abs(px[i + 1] - g) + Math.abs(px[i + 2] - b) < 40;
      if (colors.some(near)) n++;
    }
    return n;
  };
  const summary = (u: Chart) => ({ xs: u.data[0].length, series: u.series.length, colored: colored(u) });
  // the map: each cell's centre on the first and the last layer's canvas
  const canvases = [...document.querySelectorAll<HTMLCanvasElement>("#map canvas")];
  const luma = (c: HTMLCanvasElement, grid: number, i: number) => {
    const cell = c.width / grid;
    const x = Math.floor((i % grid) * cell + cell / 2);
    const y = Math.floor(Math.floor(i / grid) * cell + cell / 2);
    const p = c.getContext("2d")!.getImageData(x, y, 1, 1).data;
    return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
  };
  const { grid, kept } = d.map;
  const lastKept = new Set(kept.at(-1));
  let keptChange = 0;
  let droppedDim = 0;
  let dropped = 0;
  for (let i = 0; i < grid * grid; i++) {
    const first = luma(canvases[0], grid, i);
    const last = luma(canvases.at(-1)!, grid, i);
    if (lastKept.has(i)) keptChange = Math.max(keptChange, Math.abs(first - last));
    else {
      dropped++;
      if (last < first || first < 8) droppedDim++; // a black cell cannot get darker
    }
  }
  return {
    count: d.report.count,
    tokens: summary(d.charts.tokens),
    breakdown: summary(d.charts.breakdown),
    layers: summary(d.charts.layers),
    percentiles: {
      ...summary(d.charts.percentiles),
      points: d.report.series.requests.reduce((a, b) => a + b, 0),
    },
    map: {
      method: d.map.method,
      panels: canvases.length,
      layers: d.map.layers,
      thumb: d.map.thumb,
      keptChange,
      dropped,
      droppedDim,
    },
  };
}
