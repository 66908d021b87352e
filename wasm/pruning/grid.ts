// The `grid` control (SAP's spatial branch alone): after layer `layer` (-1: before layer 0, so that the LLM
// sees only the grid from its first layer on), keep `tokens` visual tokens on a uniform sub-grid of the
// image's token grid (select.ts uniformGrid), whatever the attention says.
import { gridSide } from "../config";
import type { MethodSpec } from "./method";
import type { LayerView, PruningPolicy } from "./policy";
import { uniformGrid } from "./select";

/** Knobs of `grid`. */
export interface GridOptions {
  /** The layer after which the grid is applied (0-based; -1: before layer 0); default 0. */
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
  }

  captureRows(): null {
    return null;
  }

  /** layer -1: the grid enters the LLM. */
  beforeFirstLayer(view: LayerView): Int32Array | null {
    return this.layer === -1 ? this.keep(view) : null;
  }

  afterLayer(view: LayerView): Int32Array | null {
    return view.layer === this.layer ? this.keep(view) : null;
  }

  private keep(view: LayerView): Int32Array {
    const alive = new Set(view.visualIndex);
    const keep = Array.from(uniformGrid(view.grid, this.tokens)).filter((g) => alive.has(g));
    return Int32Array.from(keep.length ? keep : [view.visualIndex[0]]);
  }
}

export const grid: MethodSpec<GridOptions> = {
  summary:
    "uniform grid: after one layer keep a uniform sub-grid of the visual tokens (SAP's spatial branch)",
  knobs: {
    layer: {
      kind: "integer",
      min: -1,
      doc: "the layer after which the grid is applied (-1: before layer 0)",
    },
    tokens: { kind: "number", min: 1, doc: "visual tokens kept (rounded to a rows x cols grid)" },
  },
  create: (o) => new GridPolicy(o),
  keep: {
    by: "schedule",
    knobs(keep, { layers, numVisual: n }, base) {
      const layer = base.layer ?? 0;
      const side = gridSide(n);
      // layers 0..layer whole, the grid in the rest (layer -1: in all of them, `keep` of the tokens)
      const want = ((keep * layers - (layer + 1)) * n) / (layers - layer - 1);
      // the uniform grid whose real size lands closest to the wanted count
      let best = 1;
      for (let t = 1; t <= n; t++) {
        const got = uniformGrid(side, t).length;
        if (Math.abs(got - want) < Math.abs(uniformGrid(side, best).length - want)) best = t;
      }
      return { ...base, layer, tokens: best };
    },
  },
  describe: (k) =>
    `${(k.layer ?? 0) < 0 ? "entering the LLM" : `after layer ${k.layer ?? 0}`}, ${k.tokens ?? 16} tokens`,
};
