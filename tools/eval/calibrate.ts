// `--keep F` for every method: the knob that makes the mean fraction of visual tokens over all LLM layers
// come closest to F, as the method's registry entry says (wasm/pruning/method.ts KeepRule): a closed form
// on its schedule, or a bisection on a knob measured over calibration questions (prefill only, one
// token), taken from `val` so that the test questions never tune anything.
import {
  createPolicy,
  methodSpec,
  type CountBy,
  type MethodName,
  type Model,
  type PolicyKnobs,
  type VisionReduction,
} from "../../wasm/index";
import { itemImage, type EvalItem } from "./data";

/** Bisection steps: 2^-10 of the range is far below the effect of one token on a calibration set. */
const STEPS = 10;

/**
 * The fraction of visual tokens (counted `countBy`, of all patches) that `method` with `knobs` reaches on
 * `items`, after `vision` (a reduction inside the vision encoder) when given.
 */
export async function fractionOn(
  model: Model,
  items: EvalItem[],
  method: MethodName,
  knobs: PolicyKnobs,
  countBy: CountBy = "mean",
  vision: VisionReduction | null = null,
): Promise<number> {
  let sum = 0;
  for (const it of items) {
    const done = await model.run(itemImage(it), it.qIds, {
      maxTokens: 1,
      policy: createPolicy(method, knobs),
      vision,
    });
    const v = done.stats.visualTokens;
    sum += countBy === "input" ? v.inputFraction : v.meanFraction;
  }
  return sum / items.length;
}

/** The value of `knob` in [lo, hi] whose mean fraction on `items` is closest to `keep` (monotone). */
async function bisect(
  fraction: (x: number) => Promise<number>,
  lo: number,
  hi: number,
  keep: number,
): Promise<[number, number]> {
  for (let i = 0; i < STEPS; i++) {
    const mid = (lo + hi) / 2;
    if ((await fraction(mid)) > keep) hi = mid;
    else lo = mid;
  }
  const [flo, fhi] = [await fraction(lo), await fraction(hi)];
  return Math.abs(flo - keep) <= Math.abs(fhi - keep) ? [lo, flo] : [hi, fhi];
}

/**
 * Knobs of `method` for the target fraction `keep` counted `countBy` (`base`: knobs given beside it),
 * measured after `vision` when given (a measured knob: ATP's budget keeps fewer tokens of a reduced tower;
 * a schedule's closed form: the fraction it is asked for, bisected until it keeps `keep` after it).
 */
export async function knobsFor(
  model: Model,
  method: MethodName,
  keep: number,
  calibration: EvalItem[],
  base: PolicyKnobs = {},
  countBy: CountBy = "mean",
  vision: VisionReduction | null = null,
): Promise<PolicyKnobs> {
  if (!(keep > 0 && keep <= 1)) throw new Error("--keep must be in (0, 1]");
  const rule = methodSpec(method).keep;
  if (!rule) return base;
  if (!(rule.countBy ?? ["mean"]).includes(countBy))
    throw new Error(
      `${method} prunes inside the LLM (all visual tokens enter it): --count-by ${countBy} cannot set it`,
    );
  const c = model.config;
  const ctx = { layers: c.text.layers, numVisual: c.imageSeqLength };
  if (rule.by === "schedule" && !vision) return rule.knobs(keep, ctx, base);
  if (rule.by === "schedule") {
    // after a vision reduction the closed form counts from patches the LLM no longer gets (grid's places
    // that merged away, a count of 144 from 96 rows): bisect the fraction the form is asked for instead,
    // measured after the reduction, so that the method keeps `keep` of the patches as without it
    const [x] = await bisect(
      (f) => fractionOn(model, calibration, method, rule.knobs(f, ctx, base), countBy, vision),
      1 / c.imageSeqLength,
      1,
      keep,
    );
    return rule.knobs(x, ctx, base);
  }
  const measured = (rule.method ?? method) as MethodName;
  const [value, reached] = await bisect(
    (x) => fractionOn(model, calibration, measured, { ...base, [rule.knob]: x }, countBy, vision),
    rule.lo,
    rule.hi,
    keep,
  );
  // ATP lists both countings, but only a model whose first module sits at the input prunes there
  if (countBy === "input" && keep < 1 && reached >= 1)
    throw new Error(`${method}: every visual token enters the LLM whatever its ${rule.knob}`);
  return { ...base, [rule.knob]: value };
}
