// The API key: with API_KEY set, every /v1 route needs `Authorization: Bearer <key>` (401 otherwise, with
// WWW-Authenticate); /health stays open. Runs the app with an env that has the key.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import app from "../../worker/index";
import { sameKey } from "../../worker/middleware/auth";

const KEY = "sk-test-0123456789";
const withKey = { ...env, API_KEY: KEY };
const get = (path: string, headers: Record<string, string> = {}) =>
  app.fetch(new Request(`http://localhost${path}`, { headers }), withKey);

describe("API key", () => {
  it("401 without the key or with a wrong one, on every API route", async () => {
    const cases: Record<string, string>[] = [
      {},
      { Authorization: "Bearer nope" },
      { Authorization: KEY },
      { Authorization: `Basic ${KEY}` },
    ];
    for (const headers of cases) {
      const res = await get("/v1/models", headers);
      expect(res.status).toBe(401);
      expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
      expect(await res.json()).toMatchObject({
        error: { type: "authentication_error", code: "invalid_api_key" },
      });
    }
    const post = await app.fetch(
      new Request("http://localhost/v1/chat/completions", { method: "POST", body: "{}" }),
      withKey,
    );
    expect(post.status).toBe(401);
    const describe = await app.fetch(
      new Request("http://localhost/v1/describe", { method: "POST" }),
      withKey,
    );
    expect(describe.status).toBe(401);
  });

  it("passes with the right key; /health is open", async () => {
    expect((await get("/v1/models", { Authorization: `Bearer ${KEY}` })).status).toBe(200);
    expect((await get("/health")).status).toBe(200);
  });

  it("is open when no key is set", async () => {
    expect((await app.fetch(new Request("http://localhost/v1/models"), env)).status).toBe(200);
  });

  it("compares keys exactly", async () => {
    expect(await sameKey(KEY, KEY)).toBe(true);
    expect(await sameKey(KEY, `${KEY}x`)).toBe(false);
    expect(await sameKey(KEY, KEY.toUpperCase())).toBe(false);
    expect(await sameKey("", KEY)).toBe(false);
  });
});
