// The engine's second entry, for the command-line tools (converter, benchmarks, deploy): the public API
// (wasm/index.ts) plus the formats and tables tools work with directly: the kernel table and kernel
// instances, the linear-memory arena, the weight formats, the manifest, config.json and the tensor names.
export * from "./index";
export {
  bestKernel,
  isRelaxed,
  kernelFn,
  kernelName,
  KERNEL_BUILDS,
  KERNELS,
  kernelVariants,
  type KernelRow,
  type Signatures,
} from "./kernels";
export { scratchRegion, type Region } from "./arena";
export { actStride, q4Blocks, q4Groups, QUANT_FORMATS, tensorBytes, type WeightDtype } from "./quant";
export {
  MANIFEST_FORMAT,
  TENSOR_ALIGN,
  type Manifest,
  type ShardEntry,
  type TensorDtype,
  type TensorEntry,
} from "./manifest";
export { parseConfig } from "./config";
export { tensorSpecs, type TensorSpec } from "./names";
export { readTensorsF32 } from "./tensors";
export { seeded } from "./engine/random";
export type { KeepContext, KeepRule, MethodSpec } from "./pruning/method";
