// The engine's public API (docs/architecture.md): load a model from a byte source, then
// `model.generate(image, prompt, options)`; the pruning methods by name. The Worker imports wasm/ only
// through this file, the tools through it or wasm/tools.ts (enforced by eslint.config.js).
export { loadModel, type LoadOptions } from "./loader";
export {
  loadStage,
  localLink,
  openSplitModel,
  parseSplit,
  SplitModel,
  Stage,
  StageBusy,
  type DecodeRequest,
  type EncodeReply,
  type PrefillRequest,
  type SplitStats,
  type StageInfo,
  type StageLink,
  type StageReply,
} from "./split";
export { parsePart, wholeModel, type ModelPart } from "./names";
import type { Model } from "./generate";
import type { SplitModel } from "./split";
/** What the Worker serves: a model in this isolate, or the front door of one split across stages. */
export type ServedModel = Model | SplitModel;
export { MemorySource, sha256Hex, type ByteSource } from "./source";
export { RecentMap, VISION_CACHE_ENTRIES, VisionCache, type CachedVision } from "./engine/vision-cache";
export {
  Model,
  DEFAULT_MAX_TOKENS,
  type DoneEvent,
  type GenerateEvent,
  type GenerateOptions,
  type GenerateStats,
  type ImageSource,
  type Timings,
  type TokenEvent,
} from "./generate";
export {
  instantiateKernels,
  KERNEL_BUILDS,
  rdotLowering,
  type KernelBuildName,
  type Kernels,
  type RdotLowering,
} from "./kernels";
export type { SamplingOptions } from "./engine/sampler";
export { ModelQueue, QueueLeft, type Ticket } from "./engine/queue";
export type { Precision } from "./engine/weights";
export type { Tracer } from "./engine/context";
export type { ImageInput } from "./model/preprocess";
export { gridSide, headDim, visionLayersRun, type ModelConfig } from "./config";
export { visionPlan, visionReduction, VISION_KNOBS, type VisionReduction } from "./pruning/vision";
export type { CapturedAttention, LayerView, PolicyContext, PruningPolicy } from "./pruning/policy";
export type { CountBy } from "./pruning/method";
export {
  createPolicy,
  defaultMethod,
  isMethod,
  KnobError,
  methodSpec,
  methodUnavailable,
  METHODS,
  validatedKnobs,
  type MethodName,
  type PolicyKnobs,
} from "./pruning/registry";
export {
  COST_FORMAT,
  decodeKvRows,
  fitRates,
  platformKey,
  platformRow,
  costRowOf,
  measuredPruneMs,
  predictCost,
  rowsPerLayer,
  withPointsOf,
  type BudgetPoint,
  type CostPrediction,
  type CostRates,
  type CostSample,
  type CostTable,
  type ImageFormat,
  type PlatformCost,
  type RequestWork,
} from "./engine/cost";
export { BudgetTooSmall, chooseBudget, workAt, type BudgetChoice, type BudgetRequest } from "./engine/budget";
export { HostPace, PACE_LIMITS, PACE_MIN_SAMPLES, PACE_WINDOW } from "./engine/pace";
