// The onnxruntime-web peer for the kernel benchmark (Node only: workerd cannot compile ORT's Wasm
// from bytes): an fp32 MatMul session per shape on the wasm backend, one thread, SIMD.
import * as ort from "onnxruntime-web";
import type { Peer } from "./core";
import { matmulModel } from "./onnx";

/** A Peer running Y = X . W^T through onnxruntime-web (wasm, numThreads = 1). */
export function ortPeer(): Peer {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  return async (m, k, n, w, x) => {
    const b = new Float32Array(k * n); // W [N, K] -> B = W^T [K, N]
    for (let r = 0; r < n; r++) for (let i = 0; i < k; i++) b[i * n + r] = w[r * k + i];
    const session = await ort.InferenceSession.create(matmulModel(m, k, n, b), {
      executionProviders: ["wasm"],
      graphOptimizationLevel: "all",
    });
    const feeds = { X: new ort.Tensor("float32", x, [m, k]) };
    return async () => {
      await session.run(feeds);
    };
  };
}

/** onnxruntime-web's version, for the report. */
export const ORT_VERSION = ort.env.versions.web ?? "?";
