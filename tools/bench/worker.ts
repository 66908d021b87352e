// The kernel benchmark inside workerd: GET /?ms=150&rows=1,160&shapes=128x128,... runs tools/bench/core.ts
// on both kernel builds and the bench-only module (imported as compiled modules, as the product Worker
// does) and answers the JSON report.
// No onnxruntime peer here: workerd forbids compiling Wasm from bytes, which ORT needs; the Node
// driver (workerd.ts) measures the peer beside it. Local workerd lets performance.now() advance
// freely (in production it only moves at I/O), so these timings are only meaningful locally.
import relaxedModule from "../../wasm/build/kernels.relaxed.wasm";
import simdModule from "../../wasm/build/kernels.simd.wasm";
import benchRelaxedModule from "../../wasm/build/bench.relaxed.wasm";
import benchSimdModule from "../../wasm/build/bench.simd.wasm";
import { instantiateKernels } from "../../wasm/tools";
import { instantiatePeaks, parseShapesQuery, runBench } from "./core";

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const [relaxed, simd] = await Promise.all([
      instantiateKernels(relaxedModule),
      instantiateKernels(simdModule),
    ]);
    const report = await runBench({
      relaxed,
      simd,
      peaks: {
        relaxed: await instantiatePeaks(benchRelaxedModule),
        simd: await instantiatePeaks(benchSimdModule),
      },
      ...parseShapesQuery(url.searchParams),
      minMs: Number(url.searchParams.get("ms") ?? "150"),
      now: () => performance.now(),
    });
    return Response.json({ runtime: "workerd", ...report });
  },
};
