// Linear-memory regions of one kernel instance: the one bump allocator of the project, used by the
// engine, the benchmarks and the tests. The engine lays memory out once per model:
//   [static data of the kernels | weights region | activation region]
// each a Region with a fixed capacity, reserved up front (memory grown once), so the peak linear memory
// of a loaded model is known at load time and nothing is allocated per request. Benchmarks and tests use
// `scratchRegion`: unbounded, growing memory as it goes, reset between problems.
import type { Kernels, Ptr } from "./kernels";

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
    /** The instance whose memory grows when an allocation passes its end (scratch regions). */
    private readonly k: Kernels | null = null,
  ) {
    this.top = base;
  }
  /** Reserves `bytes` at `align`; throws if the region is full (a sizing bug, not a user error). */
  alloc(bytes: number, align = ALIGN): Ptr {
    const p = alignUp(this.top, align);
    if (p + bytes > this.base + this.capacity) {
      throw new Error(`${this.name} region overflow: ${p + bytes - this.base} > ${this.capacity} bytes`);
    }
    this.top = p + bytes;
    if (this.k) ensureMemory(this.k, this.top);
    return p;
  }
  /** Copies the bytes of `data` into a fresh allocation (0 for null); needs the region's instance. */
  put(data: ArrayBufferView | null): Ptr {
    if (data === null) return 0;
    const p = this.alloc(Math.max(data.byteLength, 1));
    new Uint8Array(this.memory(), p, data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    return p;
  }
  /** f32 values (or `n` uninitialised ones) in a fresh allocation. */
  f32(data: ArrayLike<number> | number): Ptr {
    const n = typeof data === "number" ? data : data.length;
    const p = this.alloc(n * 4);
    if (typeof data !== "number") new Float32Array(this.memory(), p, n).set(data);
    return p;
  }
  /** int8 values (or `n` uninitialised ones) in a fresh allocation. */
  i8(data: ArrayLike<number> | number): Ptr {
    const n = typeof data === "number" ? data : data.length;
    const p = this.alloc(n);
    if (typeof data !== "number") new Int8Array(this.memory(), p, n).set(data);
    return p;
  }
  /** A copy of `n` f32 values at `p`. */
  readF32(p: Ptr, n: number): Float32Array {
    return new Float32Array(this.memory(), p, n).slice();
  }
  /** Frees everything (scratch regions, between benchmark shapes). */
  reset(): void {
    this.top = this.base;
  }
  /** Bytes handed out so far. */
  get used(): number {
    return this.top - this.base;
  }
  /** End of the region (first byte after it). */
  get end(): Ptr {
    return this.base + this.capacity;
  }
  private memory(): ArrayBuffer {
    if (!this.k) throw new Error(`${this.name} region has no kernel instance to write into`);
    return this.k.memory.buffer;
  }
}

/** An unbounded region from the first free byte of `k`, growing its memory as needed. */
export function scratchRegion(k: Kernels, name = "scratch"): Region {
  return new Region(name, heapStart(k), Infinity, k);
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
