// GET /health: liveness plus the kernel build the isolate runs and whether the weights are loaded (it
// never loads them). Never behind the API key.
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { getKernels, kernelBuild } from "../kernels";
import { storeFailures } from "../metrics/store";
import { modelStore } from "../store";

export const health = new Hono<AppEnv>();

health.get("/health", async (c) => {
  const k = await getKernels();
  return c.json({
    status: "ok",
    model: c.env.MODEL_ID,
    weights: modelStore.state,
    metrics_store_failures: { writes: storeFailures.writes, reads: storeFailures.reads },
    kernels: { build: kernelBuild(), simd128: k.simd, relaxed_simd: k.relaxedSimd },
  });
});
