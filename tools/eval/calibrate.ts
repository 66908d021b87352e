// `--keep F` for every method: the knob that makes the mean fraction of visual tokens over all LLM layers
// come closest to F. Training-free methods by their schedule (wasm/pruning/keep.ts); ATP (and random,
// which copies ATP's counts) by measurement: a bisection on the budget knob over calibration questions
// (prefill only, one token), taken from `val` so that the test questions never tune anything.
import type { Model } from "../../wasm/engine/model";
import { knobsForKeep } from "../../wasm/pruning/keep";
import { createPolicy, type MethodName, type PolicyKnobs } from "../../wasm/pruning/policy";
import { EVAL_IMAGE_SIZE, type EvalItem } from "./data";

/** Budget search range: beyond +-8 the thresholds saturate (sigmoid / a log-score shift of e^8). */
const BUDGET_RANGE = 8;
/** Bisection steps: 2^-10 of the range is far below the effect of one token on a calibration set. */
const STEPS = 10;

/** Mean fraction of visual tokens over layers that ATP at `budget` reaches on `items`. */
export async function atpFraction(model: Model, items: EvalItem[], budget: number): Promise<number> {
  let sum = 0;
  for (const it of items) {
    const image = { data: it.image, width: EVAL_IMAGE_SIZE, height: EVAL_IMAGE_SIZE };
    const done = await model.run(image, it.qIds, { maxTokens: 1, policy: createPolicy("atp", { budget }) });
    sum += done.stats.visualTokens.meanFraction;
  }
  return sum / items.length;
}

/** The ATP budget whose mean fraction on `items` is closest to `keep` (monotone: bisection). */
export async function calibrateAtp(model: Model, items: EvalItem[], keep: number): Promise<number> {
  let lo = -BUDGET_RANGE;
  let hi = BUDGET_RANGE;
  for (let i = 0; i < STEPS; i++) {
    const mid = (lo + hi) / 2;
    if ((await atpFraction(model, items, mid)) > keep) hi = mid;
    else lo = mid;
  }
  const [flo, fhi] = [await atpFraction(model, items, lo), await atpFraction(model, items, hi)];
  return Math.abs(flo - keep) <= Math.abs(fhi - keep) ? lo : hi;
}

/** Knobs of `method` for the target mean fraction `keep`. */
export async function knobsFor(
  model: Model,
  method: MethodName,
  keep: number,
  calibration: EvalItem[],
  base: PolicyKnobs = {},
): Promise<PolicyKnobs> {
  const c = model.config;
  if (method === "none") return {};
  if (method === "atp" || method === "random")
    return { ...base, budget: await calibrateAtp(model, calibration, keep) };
  return knobsForKeep(method, keep, c.text.layers, c.imageSeqLength, base);
}
