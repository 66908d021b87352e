// The `random` control: the visual tokens alive entering each layer are a seeded random subset, with the
// per-layer counts given (in the evaluation: the counts ATP chose for the same instance, so the two
// differ only in which tokens survive). Never captures attention.
import type { MethodSpec } from "./method";
import type { LayerView, PruningPolicy } from "./policy";
import { seeded } from "../engine/random";
import { randomSubset } from "./select";

/** Knobs of `random`. */
export interface RandomOptions {
  /** Visual tokens alive entering each layer (index = layer); missing or larger entries keep all. */
  counts?: number[];
  seed?: number;
  /** ATP's budget for the counts of each question when `counts` is not given (see `random.perInstance`). */
  budget?: number;
}

export class RandomPolicy implements PruningPolicy {
  readonly name = "random";
  readonly counts: number[];
  private readonly rand: () => number;

  constructor(o: RandomOptions = {}) {
    this.counts = o.counts ?? [];
    this.rand = seeded(o.seed ?? 1);
  }

  captureRows(): null {
    return null;
  }

  /** Fewer tokens entering layer 0 than the image has (ATP with its first module at the input). */
  beforeFirstLayer(view: LayerView): Int32Array | null {
    return this.subset(view, this.counts[0]);
  }

  afterLayer(view: LayerView): Int32Array | null {
    return this.subset(view, this.counts[view.layer + 1]);
  }

  private subset(view: LayerView, want: number | undefined): Int32Array | null {
    if (want === undefined || want >= view.visualRows.length) return null;
    return randomSubset(view.visualIndex, Math.max(1, want), this.rand);
  }
}

export const random: MethodSpec<RandomOptions> = {
  summary: "random control: a seeded random subset of the visual tokens, with ATP's per-layer counts",
  knobs: {
    counts: { kind: "integers", min: 0, maxLength: 256, doc: "visual tokens alive entering each layer" },
    seed: { kind: "integer", doc: "random stream" },
    budget: { kind: "number", doc: "ATP budget whose per-question counts are copied (without `counts`)" },
  },
  create: (o) => new RandomPolicy(o),
  // --keep calibrates the ATP budget whose counts it copies
  keep: { by: "measure", knob: "budget", lo: -8, hi: 8, method: "atp" },
  perInstance: {
    method: "atp",
    applies: (k) => !k.counts,
    source: (k) => ({ budget: k.budget }),
    knobs: (perLayer, k, index) => ({ ...k, counts: perLayer, seed: index + 1 }),
  },
  describe: (k) => (k.budget === undefined ? "" : `budget ${k.budget.toFixed(3)}`),
};
