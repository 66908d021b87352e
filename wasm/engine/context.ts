// What every part of the forward receives: the config, the kernel ops, the weights and the activation
// buffers of one loaded model, plus an optional tracer that receives named intermediates (the names the
// PyTorch reference writes into its `out` dict: training/model.py), used by the parity tests.
import type { Ptr } from "../kernels";
import type { ModelConfig } from "../config";
import type { Buffers } from "./buffers";
import type { Ops } from "./ops";
import type { Weights } from "./weights";

/** Receives a copy of an intermediate tensor (row-major, `shape`). */
export type Tracer = (name: string, data: Float32Array, shape: number[]) => void;

/** One loaded model's state as the forward functions see it. */
export interface Engine {
  cfg: ModelConfig;
  ops: Ops;
  w: Weights;
  b: Buffers;
  trace: Tracer | null;
}

/** A live f32 view of linear memory (re-made per use: memory growth detaches old views). */
export function f32View(e: Engine, p: Ptr, n: number): Float32Array {
  return new Float32Array(e.ops.k.memory.buffer, p, n);
}

/** A live i32 view of linear memory. */
export function i32View(e: Engine, p: Ptr, n: number): Int32Array {
  return new Int32Array(e.ops.k.memory.buffer, p, n);
}

/** Sends a copy of [rows, cols] at `p` to the tracer, if one is set. */
export function trace(e: Engine, name: string, p: Ptr, shape: number[]): void {
  if (e.trace)
    e.trace(
      name,
      f32View(
        e,
        p,
        shape.reduce((a, b) => a * b, 1),
      ).slice(),
      shape,
    );
}
