// The Worker entry: the Hono app with its route groups. Routes live in worker/routes/.
import { Hono } from "hono";
import type { Env } from "./env";
import { health } from "./routes/health";
import { errorBody } from "./errors";

const app = new Hono<{ Bindings: Env }>();

app.route("/", health);

app.notFound((c) => c.json(errorBody("Not found", "invalid_request_error", "not_found"), 404));
app.onError((err, c) => {
  console.error(err);
  return c.json(errorBody("Internal error", "server_error", "internal_error"), 500);
});

export default app;
