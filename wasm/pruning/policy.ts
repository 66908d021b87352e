// The pruning-policy interface (docs/architecture.md: every method is a policy object behind it; the
// decoder never knows which one runs). During prefill the decoder asks the policy, before each LLM layer,
// which query rows' head-averaged attention probabilities it wants from that layer (the attention kernel
// captures only those rows), and after the layer which visual tokens to keep. The decoder then drops the
// others from the hidden states, so every later layer's KV cache is built without them; kept tokens keep
// their original position ids (docs/method.md). Decoding never prunes.
// The methods live one per file beside this one; registry.ts names them (`createPolicy`).
import type { ModelConfig } from "../config";

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
  /**
   * Patches each alive visual row stands for [alive]: 1, or more where rows were merged (a vision
   * reduction, or a merging policy's earlier layers). Their keys weigh log(size) in attention.
   */
  visualSizes: Float32Array;
  /** Rows of the instruction tokens after the image (question tokens and <sep>). */
  textRows: Int32Array;
  /** The last row (the token whose logits start the answer). */
  lastRow: number;
  /** Visual tokens per image before any pruning (image_seq_length) and the grid side (sqrt of it). */
  numVisual: number;
  grid: number;
  /**
   * A copy of the hidden states [rows, hidden] as they stand: the LLM's input embeddings in
   * `beforeFirstLayer` (the visual rows hold the projector's outputs), the layer's output in `afterLayer`.
   */
  hidden(): Float32Array;
}

/** The vision tower's output as a policy may change it before the projector (VisionZip). */
export interface VisionView {
  /** The selected vision feature [numVisual, Dv], writable: what the projector reads next. */
  features: Float32Array;
  /** The last encoder layer's head-averaged attention probabilities [numVisual, numVisual] and keys. */
  probs: Float32Array;
  keys: Float32Array;
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

/** What a policy may read from the model at the start of a prefill (ATP: its threshold MLPs). */
export interface PolicyContext {
  config: ModelConfig;
  /** The question's token ids (question tokens and <sep>, as in the prompt after the image). */
  instructionIds: readonly number[];
  /** A copy of the f32 tensor `name` (wasm/model/names.ts) of `n` values; throws if the model lacks it. */
  tensor(name: string, n: number): Float32Array;
  /** Whether this model (or, split across stages, this stage) holds the tensor `name`. */
  has(name: string): boolean;
  /** Token embeddings f32 [ids.length, hidden] of `ids`, whatever the table's storage. */
  embedRows(ids: readonly number[]): Float32Array;
}

/** A visual-token pruning method. One instance serves one request (it may keep per-request state). */
export interface PruningPolicy {
  readonly name: string;
  /**
   * The method and knobs it was made from (set by the registry's createPolicy): a split model makes the
   * same policy again in every stage (wasm/split.ts).
   */
  spec?: { method: string; knobs: object };
  /**
   * How the engine removes the visual tokens this policy drops: false (default) drops them; true merges
   * each into its most similar kept token (cosine of hidden states; size-weighted mean) and gives every
   * merged key the score bias log(size) from then on (proportional attention). Set by the registry from
   * the `merge` knob every method takes; without the knob, a policy may choose in `begin` (atp: the
   * model's `atp.merge`). Read after `begin`.
   */
  merge?: boolean;
  /** Called once at the start of each prefill, before layer 0. */
  begin?(ctx: PolicyContext): void;
  /**
   * Called before `view.layer` runs: the query rows whose head-averaged probabilities the policy needs
   * from that layer, or null for none (no capture cost).
   */
  captureRows(view: LayerView): Int32Array | null;
  /**
   * Called once after the vision tower, before the projector (methods that prune or merge there; they
   * then name the visual tokens entering the LLM in `beforeFirstLayer`). Asking costs the capture of the
   * last encoder layer's attention.
   */
  afterVision?(view: VisionView): void;
  /**
   * Called once before layer 0, only with `beforeFirstLayer`: the query rows whose head-averaged
   * probabilities `beforeFirstLayer` needs from layer 0's attention computed on the layer's input (its
   * attention block alone, before the layer runs on the rows kept), or null for none.
   */
  probeFirstLayer?(view: LayerView): Int32Array | null;
  /**
   * Called once before layer 0 (methods that prune the LLM's input, e.g. by the projector outputs): the
   * grid indices of the visual tokens that enter the LLM at all, or null to keep them all. `attention` is
   * present iff `probeFirstLayer` asked for rows.
   */
  beforeFirstLayer?(view: LayerView, attention: CapturedAttention | null): Int32Array | null;
  /**
   * Called after `view.layer` ran: the grid indices (subset of `view.visualIndex`) of the visual tokens to
   * keep for the layers after it, or null to keep them all. `attention` is present iff rows were asked.
   */
  afterLayer(view: LayerView, attention: CapturedAttention | null): Int32Array | null;
}
