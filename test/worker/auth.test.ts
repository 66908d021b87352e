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

  it("guards every /v1 route the app has, whatever its method, and leaves only /health and the page shell open", async () => {
    const routes = app.routes.filter((r) => r.method !== "ALL");
    const open = new Set(["/health", "/dashboard", "/dashboard/:file"]);
    expect(routes.length).toBeGreaterThan(6);
    for (const r of routes) {
      const path = r.path.replace(":id", "1").replace(":file", "dashboard.js");
      const res = await app.fetch(
        new Request(`http://localhost${path}`, {
          method: r.method,
          headers: { "Content-Type": "application/json" },
          body: r.method === "GET" ? undefined : "{}",
        }),
        withKey,
      );
      if (open.has(r.path)) expect(res.status, `${r.method} ${r.path}`).toBe(200);
      else {
        expect(r.path.startsWith("/v1/"), r.path).toBe(true);
        expect(res.status, `${r.method} ${r.path}`).toBe(401);
      }
    }
  });

  it("never reads a key from the query string: 400 key_in_url, with or without the right header", async () => {
    for (const param of ["key", "api_key", "access_token", "token"]) {
      for (const headers of [{}, { Authorization: `Bearer ${KEY}` }] as Record<string, string>[]) {
        const res = await get(`/v1/models?${param}=${KEY}`, headers);
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ error: { code: "key_in_url", param } });
      }
    }
    // and no key set: still refused, so no one builds the habit against an open deployment
    const open = await app.fetch(new Request(`http://localhost/v1/metrics?key=${KEY}`), env);
    expect(open.status).toBe(400);
  });

  it("serves the dashboard under a strict Content-Security-Policy and without a Referer", async () => {
    for (const path of ["/dashboard", "/dashboard/dashboard.js"]) {
      const res = await get(path);
      expect(res.status).toBe(200);
      const csp = res.headers.get("Content-Security-Policy") ?? "";
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain("unsafe-inline");
      expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
    }
  });
});
