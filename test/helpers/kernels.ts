// Both kernel builds, instantiated for tests: the same suites run against `relaxed` and `simd`.
import relaxedModule from "../../wasm/build/kernels.relaxed.wasm";
import simdModule from "../../wasm/build/kernels.simd.wasm";
import { instantiateKernels, type Kernels } from "../../wasm/kernels";

export const BUILDS = [
  { name: "relaxed", module: relaxedModule },
  { name: "simd", module: simdModule },
] as const;

/** Instantiates one build with at least `bytes` of linear memory free above its heap base. */
export async function loadBuild(module: WebAssembly.Module, bytes = 1 << 20): Promise<Kernels> {
  const k = await instantiateKernels(module);
  const need = k.exports.heap_base() + bytes - k.memory.buffer.byteLength;
  if (need > 0) k.memory.grow(Math.ceil(need / 65536));
  return k;
}

/** Bump allocator over a kernel instance's linear memory, for test buffers. */
export class Arena {
  private top: number;
  constructor(private readonly k: Kernels) {
    this.top = (k.exports.heap_base() + 63) & ~63;
  }
  /** Reserves `bytes` aligned to `align`, growing memory when needed; returns the pointer. */
  alloc(bytes: number, align = 16): number {
    const p = (this.top + align - 1) & ~(align - 1);
    this.top = p + bytes;
    const need = this.top - this.k.memory.buffer.byteLength;
    if (need > 0) this.k.memory.grow(Math.ceil(need / 65536));
    return p;
  }
  f32(data: ArrayLike<number> | number): number {
    const n = typeof data === "number" ? data : data.length;
    const p = this.alloc(n * 4);
    if (typeof data !== "number") new Float32Array(this.k.memory.buffer, p, n).set(data);
    return p;
  }
  i8(data: ArrayLike<number> | number): number {
    const n = typeof data === "number" ? data : data.length;
    const p = this.alloc(n);
    if (typeof data !== "number") new Int8Array(this.k.memory.buffer, p, n).set(data);
    return p;
  }
  readF32(p: number, n: number): Float32Array {
    return new Float32Array(this.k.memory.buffer, p, n).slice();
  }
}

/** Deterministic PRNG (mulberry32) for reproducible random inputs: the engine's own. */
export { seeded as rng } from "../../wasm/engine/random";
