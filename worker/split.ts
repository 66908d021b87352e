// The front door of a split model (docs/split.md): with SPLIT set (stage parts, "vision|0-14|15-29"),
// the store opens a SplitModel instead of loading the model here: config and tokenizer from R2, and
// one link per stage to the StageObject of stage Worker i (binding STAGE_i). The routes serve it as
// they serve a Model.
import {
  loadStage,
  openSplitModel,
  type Stage,
  type ByteSource,
  type ModelPart,
  type SplitModel,
  type StageLink,
} from "../wasm/index";
import { ApiError } from "./errors";
import { kernelModule } from "./kernels";
import type { StageKey, StageObject } from "./stage/index";

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

/**
 * The link to stage `i` (its Durable Object, one instance per stage Worker). A stub is made per request
 * session (a stub made in one request cannot carry another request's calls: workerd answers 500), and
 * the session's first call opens a `hold` on the object that stays in flight until the session ends, so
 * the object is never idle -- and never evicted with its KV caches -- between the request's calls.
 */
export function stageLink(
  ns: DurableObjectNamespace<StageObject>,
  part: ModelPart,
  text: string,
  version: string | null = null,
): StageLink {
  const key: StageKey = { part: text, version };
  const fresh = () => ns.get(ns.idFromName("stage"));
  const stubs = new Map<string, ReturnType<typeof fresh>>();
  const of = (session: string) => {
    let s = stubs.get(session);
    if (!s) {
      stubs.set(session, (s = fresh()));
      s.hold(key, session).catch(() => {}); // ends with the session; a lost hold only risks eviction
    }
    return s;
  };
  return {
    part,
    encode: (image) => fresh().encode(key, image).catch(stageError),
    prefill: (req) => of(req.session).prefill(key, req).catch(stageError),
    decode: (req) => of(req.session).decode(key, req).catch(stageError),
    end: (session) => {
      const s = stubs.get(session) ?? fresh();
      stubs.delete(session);
      return s.end(key, session);
    },
    info: () => fresh().info(key),
  };
}

/**
 * A stage in the front door's own isolate (its part marked "@" in SPLIT): loaded from R2 on first use and
 * kept with the SplitModel. A request's decode steps all run in the one invocation that serves it, so
 * this stage needs no Durable Object, and each decoded token saves a call (docs/split.md).
 */
export function localStageLink(source: ByteSource, part: ModelPart, text: string): StageLink {
  let stage: Promise<Stage> | null = null;
  const get = () =>
    (stage ??= loadStage(source, { kernels: kernelModule() }, part).catch((err: unknown) => {
      stage = null; // the next request tries again
      throw err;
    }));
  const call = async <T>(f: (s: Stage) => T): Promise<T> => f(await get());
  return {
    part,
    encode: (image) => call((s) => s.encode(image)).catch(stageError),
    prefill: (req) => call((s) => s.prefill(req)).catch(stageError),
    decode: (req) => call((s) => s.decode(req)).catch(stageError),
    end: (session) => call((s) => s.end(session)),
    info: () => call((s) => s.describe(text)),
  };
}

/**
 * Opens the split model SPLIT describes, over the stage bindings in `env` (STAGE_i for part i). Every
 * stage call names the manifest etag the front door read, so the stages serve that model and no other
 * (worker/stage/host.ts).
 */
export function openSplit(source: ByteSource, split: string, env: StageBindings): Promise<SplitModel> {
  const parts = split.split("|").map((t) => t.trim());
  return openSplitModel(source, split, (part, i) => {
    if (parts[i].startsWith("@")) return localStageLink(source, part, parts[i]);
    const ns = env[`STAGE_${i}`];
    if (!ns) throw new Error(`split: SPLIT names ${parts.length} stages, but binding STAGE_${i} is missing`);
    // the etag R2Source noted reading the head, above (null for other sources: any version)
    const version = (source as { manifestEtag?: string | null }).manifestEtag ?? null;
    return stageLink(ns, part, parts[i], version);
  });
}
