// The pruning-policy hook (ARCHITECTURE.md: every method is a policy object behind one interface; the
// decoder never knows which one runs). During prefill the decoder asks the policy, before each LLM layer,
// which query rows' head-averaged attention probabilities it wants from that layer (the attention kernel
// captures only those rows), and after the layer which visual tokens to keep. The decoder then drops the
// others from the hidden states, so every later layer's KV cache is built without them; kept tokens keep
// their original position ids (PAPER.md, "Inference (hard)"). Decoding never prunes.
//
// What the policies of the next issue need from this interface (PAPER.md):
//   ATP:         captureRows = visual rows + instruction rows at its layers; scores S_self / S_cross
//                from `attention`, SAP grid scores from `visualIndex` and `grid`; thresholds from its MLP.
//   FastV:       captureRows = [lastRow] at layer K-1; keep the top R by that row after layer K-1.
//   PyramidDrop: captureRows = [lastRow] at each stage end; keep a geometric fraction.
//   random/grid: no capture; keep a seeded random subset / a uniform sub-grid of `visualIndex`.

/** The sequence as it stands when a layer runs (rows are the current, compacted hidden-state rows). */
export interface LayerView {
  /** LLM layer index (0-based) and the number of layers. */
  layer: number;
  numLayers: number;
  /** Rows in the hidden states now (= this layer's KV-cache length in prefill). */
  rows: number;
  /** Original position id of each row [rows]. */
  positions: Int32Array;
  /** Rows of the visual tokens still alive, ascending [alive]. */
  visualRows: Int32Array;
  /** Index in the image's token grid (0 .. numVisual-1, row-major) of each alive visual token [alive]. */
  visualIndex: Int32Array;
  /** Rows of the instruction tokens after the image (question tokens and <sep>). */
  textRows: Int32Array;
  /** The last row (the token whose logits start the answer). */
  lastRow: number;
  /** Visual tokens per image before any pruning (image_seq_length) and the grid side (sqrt of it). */
  numVisual: number;
  grid: number;
}

/** Head-averaged attention probabilities captured from one layer. */
export interface CapturedAttention {
  /** The query rows asked for, in the order asked. */
  rows: Int32Array;
  /** [rows.length, keys]: probs[i * keys + j] = mean over heads of softmax row `rows[i]`, key row j. */
  probs: Float32Array;
  /** Number of key rows (= LayerView.rows of the layer that produced them). */
  keys: number;
}

/** A visual-token pruning method. One instance serves one request (it may keep per-request state). */
export interface PruningPolicy {
  readonly name: string;
  /**
   * Called before `view.layer` runs: the query rows whose head-averaged probabilities the policy needs
   * from that layer, or null for none (no capture cost).
   */
  captureRows(view: LayerView): Int32Array | null;
  /**
   * Called after `view.layer` ran: the grid indices (subset of `view.visualIndex`) of the visual tokens to
   * keep for the layers after it, or null to keep them all. `attention` is present iff rows were asked.
   */
  afterLayer(view: LayerView, attention: CapturedAttention | null): Int32Array | null;
}

/** The `none` method: never captures, never prunes. */
export class NoPruning implements PruningPolicy {
  readonly name = "none";
  captureRows(): null {
    return null;
  }
  afterLayer(): null {
    return null;
  }
}

/** Known method names (grows with the baselines of the next issue). */
export const METHODS = ["none"] as const;
export type MethodName = (typeof METHODS)[number];

/** A fresh policy for `method`. */
export function createPolicy(method: MethodName): PruningPolicy {
  if (method === "none") return new NoPruning();
  throw new Error(`unknown pruning method ${String(method)}`);
}
