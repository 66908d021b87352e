// Runs the engine over evaluation questions with one pruning method and reduces the results to the
// report `npm run eval` prints and writes (--json): accuracy per family and mean (tools/shapesvqa/score.ts),
// caption F1, visual tokens kept per LLM layer, LLM prefill MACs and mean timings.
import {
  createPolicy,
  methodSpec,
  type MethodName,
  type Model,
  type PolicyKnobs,
  type PruningPolicy,
  type VisionReduction,
} from "../../wasm/index";
import { accuracyTable, score, type Prediction } from "../shapesvqa/score";
import { itemImage, type EvalItem } from "./data";

/** The JSON report (field names are the issue's). */
export interface EvalReport {
  method: string;
  split: string;
  count: number;
  precision: string;
  accuracy: Record<string, number>;
  caption_f1: number | null;
  /**
   * Visual tokens alive entering each LLM layer (mean per question) and the budget counted two ways:
   * `mean_fraction` over all layers (ATP-LLaVA's counting), `input_fraction` entering layer 0 (the
   * pre-LLM methods' counting).
   */
  visual_tokens: { per_layer: number[]; mean_fraction: number; input_fraction: number };
  /** KV-cache rows the prompt leaves over all layers against the unpruned prompt's. */
  kv_fraction: number;
  llm_prefill_macs: number;
  /** Vision tower + projector multiply-accumulates. */
  vision_macs: number;
  timings_ms: Record<string, number>;
  families: Record<string, { n: number; exact: number; f1?: number }>;
  /** The method's knobs as run (per-question knobs, e.g. random's counts, not included). */
  knobs?: PolicyKnobs;
  /** The vision reduction run before the method (wasm/pruning/vision.ts), when one was. */
  vision?: VisionReduction;
  /** Mean visual tokens alive entering each layer, by question family and by objects in the scene. */
  per_layer_by_family?: Record<string, number[]>;
  per_layer_by_objects?: Record<string, number[]>;
}

/** Mean of per-layer vectors grouped by key. */
class GroupMeans {
  private readonly sums = new Map<string, { n: number; v: number[] }>();
  add(key: string, v: number[]): void {
    const g = this.sums.get(key) ?? { n: 0, v: new Array<number>(v.length).fill(0) };
    g.n++;
    v.forEach((x, i) => (g.v[i] += x));
    this.sums.set(key, g);
  }
  result(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [k, g] of [...this.sums].sort((a, b) => a[0].localeCompare(b[0], "en", { numeric: true })))
      out[k] = g.v.map((x) => x / g.n);
    return out;
  }
}

/** Longest answer (8-object caption + <eos>, tools/shapesvqa/prompt.ts MAX_ANSWER_TOKENS). */
export const MAX_ANSWER_TOKENS = 24;

/**
 * The policy for question number `index`: `method` with `knobs`, and the knobs a per-instance method takes
 * from another method's prefill on this very question (the random control: ATP's counts), after the same
 * vision reduction.
 */
export async function policyFor(
  model: Model,
  method: MethodName,
  knobs: PolicyKnobs,
  it: EvalItem,
  index: number,
  vision: VisionReduction | null = null,
): Promise<PruningPolicy> {
  const perInstance = methodSpec(method).perInstance;
  if (!perInstance?.applies(knobs)) return createPolicy(method, knobs);
  const source = createPolicy(perInstance.method as MethodName, perInstance.source(knobs));
  // the source sees what the method will: the same vision reduction
  const src = await model.run(itemImage(it), it.qIds, { maxTokens: 1, policy: source, vision });
  return createPolicy(method, perInstance.knobs(src.stats.visualTokens.perLayer, knobs, index));
}

/** Evaluates `items`; `onProgress(done)` is called after each question. */
export async function evaluate(
  model: Model,
  items: EvalItem[],
  method: MethodName,
  split: string,
  onProgress: (done: number, p: Prediction) => void = () => {},
  knobs: PolicyKnobs = {},
  vision: VisionReduction | null = null,
): Promise<EvalReport> {
  const preds: Prediction[] = [];
  const layers = model.config.text.layers;
  const perLayer = new Array<number>(layers).fill(0);
  let fraction = 0;
  let inputFraction = 0;
  let kvFraction = 0;
  let macs = 0;
  let visionMacs = 0;
  const t = {
    preprocess: 0,
    vision: 0,
    projector: 0,
    llm_prefill: 0,
    prune: 0,
    ttft: 0,
    decode_per_token: 0,
    total: 0,
  };
  let decodeN = 0;
  const byFamily = new GroupMeans();
  const byObjects = new GroupMeans();
  for (const it of items) {
    const done = await model.run(itemImage(it), it.qIds, {
      maxTokens: MAX_ANSWER_TOKENS,
      policy: await policyFor(model, method, knobs, it, preds.length, vision),
      vision,
    });
    const s = done.stats;
    const p = { family: it.family, answer: it.answer, prediction: done.text };
    preds.push(p);
    s.visualTokens.perLayer.forEach((v, l) => (perLayer[l] += v));
    byFamily.add(it.family, s.visualTokens.perLayer);
    if (it.nObjects !== undefined) byObjects.add(String(it.nObjects), s.visualTokens.perLayer);
    fraction += s.visualTokens.meanFraction;
    inputFraction += s.visualTokens.inputFraction;
    kvFraction += s.kvFraction;
    macs += s.llmPrefillMacs;
    visionMacs += s.visionMacs;
    t.preprocess += s.timings.preprocessMs;
    t.vision += s.timings.visionMs;
    t.projector += s.timings.projectorMs;
    t.llm_prefill += s.timings.prefillMs;
    t.prune += s.timings.pruneMsPerLayer.reduce((a, b) => a + b, 0);
    t.ttft += s.timings.ttftMs;
    t.total += s.timings.totalMs;
    if (s.timings.decodeMsPerToken > 0) {
      t.decode_per_token += s.timings.decodeMsPerToken;
      decodeN++;
    }
    onProgress(preds.length, p);
  }
  const n = items.length;
  const report = score(preds);
  const timings_ms: Record<string, number> = {};
  for (const [k, v] of Object.entries(t))
    timings_ms[k] = v / (k === "decode_per_token" ? Math.max(1, decodeN) : n);
  return {
    method,
    split,
    count: n,
    precision: model.precision,
    accuracy: accuracyTable(report),
    caption_f1: report.families.caption?.f1 ?? null,
    visual_tokens: {
      per_layer: perLayer.map((v) => v / n),
      mean_fraction: fraction / n,
      input_fraction: inputFraction / n,
    },
    kv_fraction: kvFraction / n,
    llm_prefill_macs: macs / n,
    vision_macs: visionMacs / n,
    timings_ms,
    families: report.families as EvalReport["families"],
    knobs,
    ...(vision ? { vision } : {}),
    per_layer_by_family: byFamily.result(),
    per_layer_by_objects: byObjects.result(),
  };
}

/** The per-family table printed by `npm run eval`. */
export function formatReport(r: EvalReport): string {
  const rows = Object.entries(r.families).map(
    ([f, s]) =>
      `${f.padEnd(10)} ${String(s.n).padStart(5)}  ${(100 * s.exact).toFixed(1).padStart(6)}%` +
      (s.f1 !== undefined ? `  (F1 ${(100 * s.f1).toFixed(1)}%)` : ""),
  );
  return [
    `method ${r.method}, ${r.split}, ${r.count} questions, ${r.precision}`,
    `family         n   exact`,
    ...rows,
    `mean              ${(100 * r.accuracy.mean).toFixed(1).padStart(6)}%`,
    `visual tokens per layer: ${r.visual_tokens.per_layer.map((v) => v.toFixed(1)).join(" ")} ` +
      `(mean fraction ${r.visual_tokens.mean_fraction.toFixed(3)}, input fraction ` +
      `${r.visual_tokens.input_fraction.toFixed(3)}, KV ${r.kv_fraction.toFixed(3)})`,
    `LLM prefill ${(r.llm_prefill_macs / 1e6).toFixed(1)} MMAC, vision ${(r.vision_macs / 1e6).toFixed(1)} MMAC; ` +
      Object.entries(r.timings_ms)
        .map(([k, v]) => `${k} ${v.toFixed(2)} ms`)
        .join(", "),
  ].join("\n");
}
