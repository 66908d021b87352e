// GET /dashboard: the latency dashboard page and its files, served from the Worker itself (text modules
// bundled by wrangler, no CDN): the page shell, its script modules and styles (worker/dashboard/) and
// uPlot 1.6.32. The page holds no data; it reads /v1/metrics with the API key the user types into it
// (sent as a bearer header, never in a URL), so it is served without the key, under a strict
// Content-Security-Policy.
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import uplotJs from "uplot/dist/uPlot.iife.min.js";
import uplotCss from "uplot/dist/uPlot.min.css";
import chartsJs from "../dashboard/charts.js";
import dashboardCss from "../dashboard/dashboard.css";
import dashboardJs from "../dashboard/dashboard.js";
import page from "../dashboard/index.html";
import mapJs from "../dashboard/map.js";
import probeJs from "../dashboard/probe.js";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/** Files under /dashboard/: body, content type, and whether it is a pinned third-party build. */
const FILES: Record<string, [string, string, boolean]> = {
  "dashboard.js": [dashboardJs, JS, false],
  "charts.js": [chartsJs, JS, false],
  "map.js": [mapJs, JS, false],
  "probe.js": [probeJs, JS, false],
  "dashboard.css": [dashboardCss, CSS, false],
  "uPlot.iife.min.js": [uplotJs, JS, true],
  "uPlot.min.css": [uplotCss, CSS, true],
};

export const dashboard = new Hono<AppEnv>();

/**
 * The page runs only its own scripts and talks only to this origin; nothing from the metrics store can
 * become markup or script, and neither the page's URL nor its key leaves in a Referer.
 */
const POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

const secure = createMiddleware(async (c, next) => {
  await next();
  c.header("Content-Security-Policy", POLICY);
  c.header("Referrer-Policy", "no-referrer");
  c.header("X-Content-Type-Options", "nosniff");
});
dashboard.use("/dashboard", secure);
dashboard.use("/dashboard/*", secure);

dashboard.get("/dashboard", (c) => {
  c.header("Cache-Control", "no-cache");
  return c.html(page);
});

dashboard.get("/dashboard/:file", (c) => {
  const name = c.req.param("file");
  const file = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (!file) throw new ApiError(404, "Not found", "invalid_request_error", "not_found");
  const [body, type, pinned] = file;
  // the page's own files change with deploys; uPlot's build is pinned by version
  c.header("Cache-Control", pinned ? "public, max-age=86400" : "no-cache");
  return c.body(body, 200, { "Content-Type": type });
});
