// What the registry (registry.ts) knows of a pruning method, written once in the method's own file: how
// it is created, its knobs (validated here, with an error naming the knob), whether a model can run it,
// how `--keep F` (a target mean fraction of visual tokens over all LLM layers, the paper's counting) sets
// its knob, and how its knobs read in a report. Nothing outside a method's file branches on its name.
import type { ModelConfig } from "../config";
import type { PruningPolicy } from "./policy";

/** One knob: its kind and range (bounds inclusive unless named `above`/`below`), for validation. */
export interface KnobSpec {
  kind: "number" | "integer" | "integers" | "numbers";
  min?: number;
  max?: number;
  /** Exclusive lower / upper bound. */
  above?: number;
  below?: number;
  /** Lists: strictly increasing. */
  increasing?: boolean;
  /** Lists: at most this many entries. */
  maxLength?: number;
  doc: string;
}

/** A knob value as requests and command lines carry it. */
export type KnobValue = number | number[];

/** A knob a method refuses: which method, which knob, why. */
export class KnobError extends Error {
  constructor(
    readonly method: string,
    readonly knob: string,
    message: string,
  ) {
    super(message);
    this.name = "KnobError";
  }
}

/** What `--keep` needs of the model: LLM layers and visual tokens per image. */
export interface KeepContext {
  layers: number;
  numVisual: number;
}

/** How a budget is counted: the mean over LLM layers (ATP-LLaVA's) or the tokens entering layer 0. */
export type CountBy = "mean" | "input";

/**
 * How `--keep F` sets a method's knob: a closed form on its schedule (`schedule`), or a bisection on
 * `knob` over [lo, hi] measuring the fraction that running `method` (this one unless named) reaches on
 * calibration questions (`measure`; the fraction must grow with the knob). `countBy` lists the countings
 * the rule can match (default mean only: a method pruning inside the LLM lets every token enter it).
 */
export type KeepRule<K> = { countBy?: CountBy[] } & (
  | { by: "schedule"; knobs(keep: number, c: KeepContext, base: K): K }
  | { by: "measure"; knob: keyof K & string; lo: number; hi: number; method?: string }
);

/** A pruning method as the registry holds it; K is its knobs' type. */
export interface MethodSpec<K> {
  /** One line for /v1/models and reports. */
  summary: string;
  knobs: { [P in keyof K]-?: KnobSpec };
  /** A fresh policy (one per request) from validated knobs. */
  create(knobs: K): PruningPolicy;
  /** Why `config`'s model cannot run this method, or null when it can. */
  unavailable?(config: ModelConfig): string | null;
  /** null: the method has no budget (`none`). */
  keep: KeepRule<K> | null;
  /**
   * Knobs fixed per question from another method's prefill on the same question (the `random` control
   * takes ATP's per-layer counts, so that only the choice of tokens differs): when `applies`, the tools
   * run `method` with `source(knobs)` and pass its visual tokens per layer to `knobs`.
   */
  perInstance?: {
    method: string;
    applies(knobs: K): boolean;
    source(knobs: K): object;
    knobs(perLayer: number[], knobs: K, index: number): K;
  };
  /** The knobs as a report cell, defaults filled in. */
  describe(knobs: K): string;
}

/** Checks `raw` against `specs`: unknown knobs, wrong kinds and values out of range throw KnobError. */
export function validateKnobs<K>(method: string, specs: { [P in keyof K]-?: KnobSpec }, raw: object): K {
  const table = specs as Record<string, KnobSpec>;
  const out: Record<string, KnobValue> = {};
  for (const [name, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    const spec = table[name];
    const known = Object.keys(table);
    if (!spec) {
      const list = known.length ? `its knobs: ${known.join(", ")}` : "it has none";
      throw new KnobError(method, name, `${method} has no knob '${name}' (${list})`);
    }
    out[name] = checkKnob(method, name, spec, v);
  }
  return out as K;
}

function checkKnob(method: string, name: string, s: KnobSpec, v: unknown): KnobValue {
  const list = s.kind === "integers" || s.kind === "numbers";
  const integer = s.kind === "integer" || s.kind === "integers";
  const noun = list
    ? integer
      ? "a list of integers"
      : "a list of numbers"
    : integer
      ? "an integer"
      : "a number";
  const what = `${noun}${rangeText(s)}`;
  const bad = (m: string) => new KnobError(method, name, `${method}: knob '${name}' ${m}`);
  const one = (x: unknown): number => {
    if (typeof x !== "number" || !Number.isFinite(x) || (integer && !Number.isInteger(x)))
      throw bad(`must be ${what}`);
    const out =
      (s.min !== undefined && x < s.min) ||
      (s.max !== undefined && x > s.max) ||
      (s.above !== undefined && x <= s.above) ||
      (s.below !== undefined && x >= s.below);
    if (out) throw bad(`must be ${what}, got ${x}`);
    return x;
  };
  if (!list) return one(v);
  if (!Array.isArray(v)) throw bad(`must be ${what}`);
  if (s.maxLength !== undefined && v.length > s.maxLength) throw bad(`has more than ${s.maxLength} entries`);
  const xs = v.map(one);
  if (s.increasing && xs.some((x, i) => i > 0 && x <= xs[i - 1])) throw bad("must be strictly increasing");
  return xs;
}

function rangeText(s: KnobSpec): string {
  const lo = s.min !== undefined ? `[${s.min}` : s.above !== undefined ? `(${s.above}` : null;
  const hi = s.max !== undefined ? `${s.max}]` : s.below !== undefined ? `${s.below})` : null;
  if (lo && hi) return ` in ${lo}, ${hi}`;
  if (lo) return s.min !== undefined ? ` >= ${s.min}` : ` > ${s.above}`;
  if (hi) return s.max !== undefined ? ` <= ${s.max}` : ` < ${s.below}`;
  return "";
}

/** Mean fraction over layers of `n0` visual tokens when counts[l] enter layer l. */
export function meanFraction(counts: number[], n0: number): number {
  return counts.reduce((a, b) => a + b, 0) / counts.length / n0;
}

/** The --keep rule of a method that keeps `tokens` visual tokens from layer 0 on: tokens = F x N. */
export function keepInputTokens<K extends { tokens?: number }>(): KeepRule<K> {
  return {
    by: "schedule",
    countBy: ["mean", "input"], // N' tokens from layer 0 on: both fractions are N' / N
    knobs: (keep, { numVisual }, base) => ({ ...base, tokens: Math.max(1, Math.round(keep * numVisual)) }),
  };
}
