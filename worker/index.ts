// The Worker entry: the Hono app with its middleware and route groups (worker/routes/). /health is open;
// /v1/* (metrics included) needs the API key when one is set; /dashboard is a data-less page that reads
// /v1/metrics with the key the user gives it. Every response carries Server-Timing (hono/timing). The
// metrics store's Durable Object class is exported here, as workerd requires. Client errors are
// ApiErrors (worker/errors.ts) rendered as OpenAI-style JSON; anything else is logged and answers a bare 500.
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { timing } from "hono/timing";
import type { AppEnv } from "./env";
import { ApiError, errorBody } from "./errors";
import { useKernelBuild } from "./kernels";
import { requireApiKey } from "./middleware/auth";
import { chat } from "./routes/chat";
import { dashboard } from "./routes/dashboard";
import { describe } from "./routes/describe";
import { health } from "./routes/health";
import { metrics } from "./routes/metrics";
import { models } from "./routes/models";

const app = new Hono<AppEnv>();

app.use("*", async (c, next) => {
  c.set("arrivedAt", performance.now());
  useKernelBuild(c.env.KERNELS);
  await next();
});
app.use("*", timing({ totalDescription: "Worker time to response headers" })); // Server-Timing
app.use("/v1/*", requireApiKey);

app.route("/", health);
app.route("/", models);
app.route("/", chat);
app.route("/", describe);
app.route("/", metrics);
app.route("/", dashboard);

app.notFound((c) => c.json(errorBody("Not found", "invalid_request_error", "not_found"), 404));
app.onError((err, c) => {
  if (err instanceof ApiError) {
    if (err.status === 503 || err.status === 429) {
      const ms = Math.max(1, Math.round(err.retryAfterMs ?? 1000));
      c.header("Retry-After", String(Math.max(1, Math.ceil(ms / 1000))));
      c.header("retry-after-ms", String(ms));
    }
    return c.json(err.body(), err.status);
  }
  if (err instanceof HTTPException && err.status < 500) {
    // hono's own 4xx (malformed JSON from the validator)
    return c.json(errorBody(err.message, "invalid_request_error", "invalid_json"), err.status);
  }
  console.error(err);
  return c.json(errorBody("Internal error", "server_error", "internal_error"), 500);
});

export default app;
export { MetricsStore } from "./metrics/store";
