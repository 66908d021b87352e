// The front door of a split model (docs/split.md): with SPLIT set (stage parts, "vision|0-14|15-29"),
// the store opens a SplitModel instead of loading the model here: config and tokenizer from R2, and
// one link per stage to the StageObject of stage Worker i (binding STAGE_i). The routes serve it as
// they serve a Model.
import {
  openSplitModel,
  type ByteSource,
  type ModelPart,
  type SplitModel,
  type StageLink,
} from "../wasm/index";
import { ApiError } from "./errors";
import type { StageObject } from "./stage/index";

/** The stage bindings of the front door: STAGE_0, STAGE_1, ... */
export type StageBindings = Record<string, DurableObjectNamespace<StageObject> | undefined>;

/**
 * What a stage's failure means to the client: its session taken by another request -> 503 overloaded,
 * retry soon; its part failing to load (weights missing or corrupt) -> 503 weights_unavailable, as a
 * model of this isolate would; anything else is rethrown.
 */
export function stageError(err: unknown): never {
  const msg = err instanceof Error ? err.message : String(err);
  if (/serves another request/.test(msg))
    throw new ApiError(
      503,
      `The model is busy: ${msg}; retry after the Retry-After seconds`,
      "service_unavailable",
      "overloaded",
      null,
      1000,
    );
  if (/^weights: /.test(msg))
    throw new ApiError(
      503,
      `Model weights are unavailable: ${msg}`,
      "service_unavailable",
      "weights_unavailable",
      null,
      1000,
    );
  throw err;
}

/** The link to stage `i` (its Durable Object, one instance per stage Worker). */
export function stageLink(ns: DurableObjectNamespace<StageObject>, part: ModelPart, text: string): StageLink {
  // a stub per call: a stub made in one request cannot carry another request's calls (workerd: 500)
  const stub = () => ns.get(ns.idFromName("stage"));
  return {
    part,
    encode: (image) => stub().encode(text, image).catch(stageError),
    prefill: (req) => stub().prefill(text, req).catch(stageError),
    decode: (req) => stub().decode(text, req).catch(stageError),
    end: (session) => stub().end(text, session),
    info: () => stub().info(text),
  };
}

/** Opens the split model SPLIT describes, over the stage bindings in `env`. */
export function openSplit(source: ByteSource, split: string, env: StageBindings): Promise<SplitModel> {
  const texts = split.split("|");
  return openSplitModel(source, split, (part, i) => {
    const ns = env[`STAGE_${i}`];
    if (!ns) throw new Error(`split: SPLIT names ${texts.length} stages, but binding STAGE_${i} is missing`);
    return stageLink(ns, part, texts[i].trim());
  });
}
