// The `atp` request extension (docs/architecture.md, "The request path"): pruning method, budget, knobs
// and deadline. Method names come from the engine's registry (METHODS), so new pruning methods are
// accepted as they land; knobs are shape-checked here and checked per method by the registry.
import { z } from "zod";
import { METHODS } from "../../wasm/index";
import { MAX_DEADLINE_MS } from "../limits";

/** |budget| beyond which ATP keeps all or one token anyway (its thresholds are log-scores of O(10)). */
const MAX_BUDGET_SHIFT = 100;

/** `atp` in a request body; every field optional. */
export const atpRequest = z
  .object({
    /**
     * Visual-token pruning method (wasm/pruning/registry.ts METHODS); unset: the model's default
     * (`defaultMethod`: `atp` when the model has ATP modules, else `none`).
     */
    method: z.enum(METHODS).optional(),
    /**
     * ATP's budget knob beta (wasm/pruning/atp.ts): shifts both learned thresholds; > 0 keeps more
     * visual tokens, < 0 fewer, 0 = as trained. Passed to the policy as knobs.budget.
     */
    budget: z.number().min(-MAX_BUDGET_SHIFT).max(MAX_BUDGET_SHIFT).optional(),
    /**
     * Method knobs, as wasm/pruning/<method>.ts names them (fastv: k, ratio; pdrop: layers, lambda;
     * random: counts, seed; grid: layer, tokens). Shape-checked here, names and values by the registry.
     */
    knobs: z.record(z.string().max(32), z.union([z.number(), z.array(z.number()).max(256)])).optional(),
    /**
     * CPU milliseconds the request may cost (image decode, prefill and max_tokens of decode): the pruning
     * is chosen from the model's cost table to fit (docs/cost.md); 400 when nothing fits. Not with
     * `budget` or `knobs`.
     */
    cpu_budget_ms: z.number().positive().max(MAX_DEADLINE_MS).optional(),
    /**
     * Patches dropped inside the vision encoder before the method runs (wasm/pruning/vision.ts): after
     * encoder layer `layer`, ToMe matching down to `tokens` patches, merged with `merge: 1`. Checked
     * against the model there. Not with `cpu_budget_ms`, which chooses it itself.
     */
    vision: z
      .object({ layer: z.number().int(), tokens: z.number().int(), merge: z.number().int().optional() })
      .strict()
      .optional(),
    /** Stop generating (finish_reason "length") once this much wall time has passed since arrival. */
    deadline_ms: z.number().int().min(0).max(MAX_DEADLINE_MS).optional(),
  })
  .strict()
  .default({});

export type AtpRequest = z.infer<typeof atpRequest>;

/** Sampling fields shared by both generation routes (OpenAI names). */
export const sampling = {
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).lte(1).optional(),
  seed: z.number().int().optional(),
};
