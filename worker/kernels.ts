// The kernel build the Worker runs: the relaxed-SIMD module, imported as a compiled module (workerd
// refuses to compile Wasm bytes at run time). /health instantiates it; the model loader gets the module.
import relaxedModule from "../wasm/build/kernels.relaxed.wasm";
import { instantiateKernels, type Kernels } from "../wasm/index";

/** The compiled kernel module every model of this isolate is instantiated from. */
export const kernelModule: WebAssembly.Module = relaxedModule;

let kernels: Promise<Kernels> | undefined;

/** The isolate's kernel instance, created on first use. */
export function getKernels(): Promise<Kernels> {
  kernels ??= instantiateKernels(relaxedModule);
  return kernels;
}
