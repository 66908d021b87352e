// The kernel module as the engine sees it: instantiation from a compiled WebAssembly.Module (workerd
// forbids compiling from bytes, so callers import the .wasm as a module) and the typed export list.

/** Feature bits reported by `build_features()`. */
export const FEATURE_SIMD = 1;
export const FEATURE_RELAXED_SIMD = 2;

/** Pointers are byte offsets into the kernel module's linear memory. */
export type Ptr = number;

/** Exports every build has; kernels are added here as assembly/index.ts registers them. */
export interface KernelExports {
  memory: WebAssembly.Memory;
  build_features(): number;
  heap_base(): Ptr;
  f32_add__scalar(a: Ptr, b: Ptr, out: Ptr, n: number): void;
  f32_add__simd(a: Ptr, b: Ptr, out: Ptr, n: number): void;
  [name: string]: unknown;
}

/** An instantiated kernel module and what it was built with. */
export interface Kernels {
  exports: KernelExports;
  memory: WebAssembly.Memory;
  simd: boolean;
  relaxedSimd: boolean;
}

/** Instantiates a compiled kernel module (no imports: kernels are pure functions over memory). */
export async function instantiateKernels(module: WebAssembly.Module): Promise<Kernels> {
  const instance = await WebAssembly.instantiate(module, {});
  const exports = instance.exports as unknown as KernelExports;
  const bits = exports.build_features();
  return {
    exports,
    memory: exports.memory,
    simd: (bits & FEATURE_SIMD) !== 0,
    relaxedSimd: (bits & FEATURE_RELAXED_SIMD) !== 0,
  };
}
