// Linear-memory regions of one kernel instance. The engine lays memory out once per model:
//   [static data of the kernels | weights region | activation region]
// Each region is a bump allocator with a fixed capacity, reserved up front (memory grown once), so the
// peak linear memory of a loaded model is known at load time and nothing is allocated per request.
import type { Kernels, Ptr } from "../kernels";

/** Alignment of every allocation: one cache line, and what the shards use (TENSOR_ALIGN). */
export const ALIGN = 64;

const alignUp = (n: number, a = ALIGN) => Math.ceil(n / a) * a;

/** A bump allocator over [base, base + capacity) of a kernel instance's linear memory. */
export class Region {
  private top: number;
  constructor(
    readonly name: string,
    readonly base: Ptr,
    readonly capacity: number,
  ) {
    this.top = base;
  }
  /** Reserves `bytes` (64-byte aligned); throws if the region is full (a sizing bug, not a user error). */
  alloc(bytes: number): Ptr {
    const p = alignUp(this.top);
    if (p + bytes > this.base + this.capacity) {
      throw new Error(`${this.name} region overflow: ${p + bytes - this.base} > ${this.capacity} bytes`);
    }
    this.top = p + bytes;
    return p;
  }
  /** Bytes handed out so far. */
  get used(): number {
    return this.top - this.base;
  }
  /** End of the region (first byte after it). */
  get end(): Ptr {
    return this.base + this.capacity;
  }
}

/** Counts the bytes a sequence of aligned allocations needs (to size a Region before creating it). */
export class SizeCounter {
  bytes = 0;
  add(bytes: number): this {
    this.bytes = alignUp(this.bytes) + bytes;
    return this;
  }
  get total(): number {
    return alignUp(this.bytes);
  }
}

/** Grows `k`'s memory so that [0, end) is addressable. */
export function ensureMemory(k: Kernels, end: number): void {
  const need = end - k.memory.buffer.byteLength;
  if (need > 0) k.memory.grow(Math.ceil(need / 65536));
}

/** First 64-byte aligned byte above the kernels' static data. */
export function heapStart(k: Kernels): Ptr {
  return alignUp(k.exports.heap_base());
}
