// The `random` control: the visual tokens alive entering each layer are a seeded random subset, with the
// per-layer counts given (in the evaluation: the counts ATP chose for the same instance, so the two
// differ only in which tokens survive). Never captures attention.
import type { LayerView, PruningPolicy } from "./policy";
import { seeded } from "../engine/random";
import { randomSubset } from "./select";

/** Knobs of `random`. */
export interface RandomOptions {
  /** Visual tokens alive entering each layer (index = layer); missing or larger entries keep all. */
  counts?: number[];
  seed?: number;
}

export class RandomPolicy implements PruningPolicy {
  readonly name = "random";
  readonly counts: number[];
  private readonly rand: () => number;

  constructor(o: RandomOptions = {}) {
    this.counts = o.counts ?? [];
    if (!this.counts.every((c) => Number.isFinite(c) && c >= 0))
      throw new Error("random: counts must be >= 0");
    this.rand = seeded(o.seed ?? 1);
  }

  captureRows(): null {
    return null;
  }

  afterLayer(view: LayerView): Int32Array | null {
    const want = this.counts[view.layer + 1];
    const n = view.visualRows.length;
    if (want === undefined || want >= n) return null;
    return randomSubset(view.visualIndex, Math.max(1, want), this.rand);
  }
}
