// npm run bench:memory -- DIR PART   (PART: vision | A-B | vision+A-B | whole)
// The memory one isolate needs for a part of the model in DIR, measured in Node's V8 (the engine of
// workerd too): the kernel instance's linear memory (weights + activations) and the JS heap the load
// leaves (after a full GC). Run with --expose-gc (the npm script does). docs/split.md has the figures.
import { loadModel, loadStage } from "../../wasm/index";
import { FileSource, kernelModule } from "../eval/node";

const [dir, part] = process.argv.slice(2);
if (!dir || !part) throw new Error("usage: npm run bench:memory -- DIR PART");
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");
gc();
const before = process.memoryUsage().heapUsed;
const source = new FileSource(dir);
const kernels = kernelModule();
const linear =
  part === "whole"
    ? (await loadModel(source, { kernels })).info.memoryBytes
    : (await loadStage(source, { kernels }, part)).memoryBytes;
gc();
const heap = process.memoryUsage().heapUsed - before;
console.log(JSON.stringify({ dir, part, linearMiB: linear / 2 ** 20, jsHeapMiB: heap / 2 ** 20 }));
