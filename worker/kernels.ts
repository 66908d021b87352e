// The kernel build the Worker runs: the relaxed-SIMD module, imported as a compiled module.
import relaxedModule from "../wasm/build/kernels.relaxed.wasm";
import { instantiateKernels, type Kernels } from "../wasm/kernels";

let kernels: Promise<Kernels> | undefined;

/** The isolate's kernel instance, created on first use. */
export function getKernels(): Promise<Kernels> {
  kernels ??= instantiateKernels(relaxedModule);
  return kernels;
}
