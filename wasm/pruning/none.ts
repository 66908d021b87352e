// The `none` method: every visual token reaches every layer (the unpruned model).
import type { MethodSpec } from "./method";
import type { PruningPolicy } from "./policy";

/** Never captures, never prunes. */
export class NoPruning implements PruningPolicy {
  readonly name = "none";
  captureRows(): null {
    return null;
  }
  afterLayer(): null {
    return null;
  }
}

export const none: MethodSpec<Record<string, never>> = {
  summary: "no pruning: every visual token reaches every LLM layer",
  knobs: {},
  create: () => new NoPruning(),
  keep: null,
  describe: () => "",
};
