// The engine's public API (ARCHITECTURE.md): load a model from a byte source, then
// `model.generate(image, prompt, options)`. The worker and the tools import from here only.
export { loadModel, type LoadOptions } from "./loader";
export { MemorySource, sha256Hex, type ByteSource } from "./source";
export { Model, DEFAULT_MAX_TOKENS } from "./engine/model";
export type {
  DoneEvent,
  GenerateEvent,
  GenerateOptions,
  GenerateStats,
  Timings,
  TokenEvent,
} from "./engine/generate";
export type { SamplingOptions } from "./engine/sampler";
export type { Precision } from "./engine/weights";
export type { Tracer } from "./engine/context";
export type { ImageInput } from "./model/preprocess";
export type { ModelConfig } from "./model/config";
export {
  createPolicy,
  METHODS,
  NoPruning,
  type CapturedAttention,
  type LayerView,
  type MethodName,
  type PolicyContext,
  type PolicyKnobs,
  type PruningPolicy,
} from "./pruning/policy";
