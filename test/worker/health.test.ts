import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("GET /health", () => {
  it("reports the relaxed-SIMD kernel build and how the engine runs its int8 dot", async () => {
    const res = await exports.default.fetch("http://localhost/health");
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      status: string;
      kernels: { build: string; relaxed_simd: boolean; int8_dot: string };
    };
    expect(body.status).toBe("ok");
    expect(body.kernels).toMatchObject({ build: "relaxed", relaxed_simd: true });
    expect(["fused", "emulated"]).toContain(body.kernels.int8_dot);
  });

  it("answers unknown routes with an OpenAI-style 404", async () => {
    const res = await exports.default.fetch("http://localhost/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error" } });
  });
});
