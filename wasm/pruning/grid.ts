// The `grid` control (SAP's spatial branch alone): after layer `layer`, keep `tokens` visual tokens on a
// uniform sub-grid of the image's token grid (select.ts uniformGrid), whatever the attention says.
import type { LayerView, PruningPolicy } from "./policy";
import { uniformGrid } from "./select";

/** Knobs of `grid`. */
export interface GridOptions {
  /** The layer after which the grid is applied (0-based); default 0. */
  layer?: number;
  /** Visual tokens kept (rounded to a rows x cols grid); default 16 (4 x 4). */
  tokens?: number;
}

export class GridPolicy implements PruningPolicy {
  readonly name = "grid";
  readonly layer: number;
  readonly tokens: number;

  constructor(o: GridOptions = {}) {
    this.layer = o.layer ?? 0;
    this.tokens = o.tokens ?? 16;
    if (!Number.isInteger(this.layer) || this.layer < 0)
      throw new Error("grid: layer must be an integer >= 0");
    if (!(this.tokens >= 1)) throw new Error("grid: tokens must be >= 1");
  }

  captureRows(): null {
    return null;
  }

  afterLayer(view: LayerView): Int32Array | null {
    if (view.layer !== this.layer) return null;
    const alive = new Set(view.visualIndex);
    const keep = Array.from(uniformGrid(view.grid, this.tokens)).filter((g) => alive.has(g));
    return Int32Array.from(keep.length ? keep : [view.visualIndex[0]]);
  }
}
