// GET /health: liveness plus the kernel build the isolate runs. Never behind the API key.
import { Hono } from "hono";
import type { Env } from "../env";
import { getKernels } from "../kernels";

export const health = new Hono<{ Bindings: Env }>();

health.get("/health", async (c) => {
  const k = await getKernels();
  return c.json({
    status: "ok",
    model: c.env.MODEL_ID,
    kernels: { build: k.relaxedSimd ? "relaxed" : "simd", simd128: k.simd, relaxed_simd: k.relaxedSimd },
  });
});
