// GET /health: liveness plus the kernel build the isolate runs (and how the engine runs its int8 dot: the
// host class, wasm/kernels.ts `rdotLowering`), whether the weights are loaded (it never loads them) and,
// once they are, the model's cache of vision outputs (wasm/engine/vision-cache.ts) and the host's pace
// against the cost table (wasm/engine/pace.ts). Never behind the API key.
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { rdotLowering } from "../../wasm/index";
import { getKernels, kernelBuild } from "../kernels";
import { storeFailures } from "../metrics/store";
import { modelStore } from "../store";

export const health = new Hono<AppEnv>();

health.get("/health", async (c) => {
  const k = await getKernels();
  const m = modelStore.loaded;
  // the Wasm memory of each isolate serving the model: this one's, or each stage's (docs/split.md)
  const memory = !m
    ? null
    : "stages" in m
      ? { stages: await m.stages().catch(() => null) }
      : { linear_memory_bytes: m.info.memoryBytes, weights_bytes: m.info.weightsBytes };
  const cache = m && "visionCache" in m ? m.visionCache : null;
  return c.json({
    status: "ok",
    model: c.env.MODEL_ID,
    weights: modelStore.state,
    metrics_store_failures: { writes: storeFailures.writes, reads: storeFailures.reads },
    kernels: {
      build: kernelBuild(),
      int8_dot: rdotLowering(k),
      simd128: k.simd,
      relaxed_simd: k.relaxedSimd,
    },
    ...(memory ? { memory } : {}),
    ...(cache
      ? {
          vision_cache: {
            entries: cache.size,
            capacity: cache.capacity,
            bytes: cache.bytes,
            hits: cache.hits,
            misses: cache.misses,
          },
        }
      : {}),
    ...(m ? { pace: { factor: m.pace.factor, samples: m.pace.samples } } : {}),
  });
});
