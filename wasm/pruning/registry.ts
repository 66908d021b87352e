// The pruning-method registry: every method the engine runs, by name. Each entry is the MethodSpec its
// own file exports (how it is created, its knobs, whether a model can run it, how --keep sets it, how it
// reads in a report). Routes, eval, calibration and reports ask this file; none branches on a name.
// Adding a method: its file in wasm/pruning/ exporting a MethodSpec, and one line below.
import type { ModelConfig } from "../config";
import { atp, type AtpOptions } from "./atp";
import { cdpruner, type CdPrunerOptions } from "./cdpruner";
import { dart, type DartOptions } from "./dart";
import { divprune, type DivPruneOptions } from "./divprune";
import { fastv, type FastVOptions } from "./fastv";
import { grid, type GridOptions } from "./grid";
import { KnobError, validateKnobs, type KnobSpec, type MethodSpec } from "./method";
import { none } from "./none";
import { pdrop, type PyramidDropOptions } from "./pdrop";
import type { PruningPolicy } from "./policy";
import { random, type RandomOptions } from "./random";
import { visionzip, type VisionZipOptions } from "./visionzip";

/** Name -> spec, one line per method. */
const REGISTRY = { none, atp, fastv, pdrop, random, grid, divprune, cdpruner, visionzip, dart } as const;

export type MethodName = keyof typeof REGISTRY;

/** Every method name, in registry order (the Worker validates requests against this list). */
export const METHODS = Object.keys(REGISTRY) as [MethodName, ...MethodName[]];

/** Knobs every method takes: how the engine removes what the method drops (docs/method.md, "Merging"). */
export interface CommonKnobs {
  merge?: number;
}
const COMMON_KNOBS: { [K in keyof CommonKnobs]-?: KnobSpec } = {
  merge: {
    kind: "integer",
    min: 0,
    max: 1,
    doc: "1: merge each dropped visual token into its most similar kept one (size-weighted) and attend to merged keys with log(size) (proportional attention); 0 (default): drop",
  },
};

/** Every method's knobs (each reads its own; validated per method by createPolicy). */
export type PolicyKnobs = CommonKnobs &
  AtpOptions &
  FastVOptions &
  PyramidDropOptions &
  RandomOptions &
  GridOptions &
  DivPruneOptions &
  CdPrunerOptions &
  DartOptions &
  VisionZipOptions;

/** Preference for a model's default method: the learned one when the model has it. */
const DEFAULT_ORDER: MethodName[] = ["atp", "none"];

/** The spec of `method` (throws on an unknown name: validate names against METHODS first). */
export function methodSpec(method: MethodName): MethodSpec<PolicyKnobs> {
  const spec = REGISTRY[method] as unknown as MethodSpec<PolicyKnobs> | undefined;
  if (!spec) throw new Error(`unknown pruning method ${String(method)}`);
  return spec;
}

/** Whether `name` is a method of the registry. */
export function isMethod(name: string): name is MethodName {
  return Object.hasOwn(REGISTRY, name);
}

/** Why `config`'s model cannot run `method`, or null when it can. */
export function methodUnavailable(method: MethodName, config: ModelConfig): string | null {
  return methodSpec(method).unavailable?.(config) ?? null;
}

/** The method a request without one gets on this model. */
export function defaultMethod(config: ModelConfig): MethodName {
  return DEFAULT_ORDER.find((m) => methodUnavailable(m, config) === null) ?? "none";
}

/** `knobs` checked against `method`'s knob table (KnobError naming the knob otherwise). */
export function validatedKnobs(method: MethodName, knobs: object): PolicyKnobs {
  return validateKnobs<PolicyKnobs>(method, { ...methodSpec(method).knobs, ...COMMON_KNOBS }, knobs);
}

/** A fresh policy for `method` with its knobs validated (defaults: each method's paper setting). */
export function createPolicy(method: MethodName, knobs: object = {}): PruningPolicy {
  const { merge, ...own } = validatedKnobs(method, knobs);
  const policy = methodSpec(method).create(own);
  if (merge !== undefined) policy.merge = merge === 1; // else the policy's own default (atp: config)
  policy.spec = { method, knobs: { ...knobs } };
  return policy;
}

export { KnobError };
