import { createPolicy, loadModel } from "../../wasm/index";
import { FileSource, kernelModule } from "../eval/node";
const dir = process.argv[2];
const t0 = performance.now();
const model = await loadModel(new FileSource(dir), { kernels: kernelModule() });
console.log("load ms", (performance.now() - t0).toFixed(0), JSON.stringify(model.info).slice(0, 300));
const data = new Uint8Array(224 * 224 * 3).map((_, i) => (i * 7) % 256);
for (const method of ["none", "atp", "none", "atp"]) {
  const done = await model.run({ width: 224, height: 224, data }, "what color is the circle ?", {
    maxTokens: 8,
    policy: createPolicy(method as never, {}),
  });
  console.log(method, JSON.stringify(done).slice(0, 900));
}
console.log("rss MB", (process.memoryUsage().rss / 1e6).toFixed(0));
