// The kernel builds the Worker can run (wasm/kernels.ts KERNEL_BUILDS), imported as compiled modules
// (workerd refuses to compile Wasm bytes at run time): relaxed SIMD (the fused int8 dot; the default) and
// plain SIMD. Both give bit-identical results (test/assembly/). The relaxed build is the faster on both
// host classes measured, with VNNI and without it (where V8 emulates the fused dot; docs/platform.md), so
// KERNELS in wrangler.toml [vars] only needs `simd` for an engine without relaxed SIMD. /health names the
// build in use and how the engine runs its int8 dot (the host class: wasm/kernels.ts `rdotLowering`,
// read without a clock); the model loader gets its module.
import relaxedModule from "../wasm/build/kernels.relaxed.wasm";
import simdModule from "../wasm/build/kernels.simd.wasm";
import { instantiateKernels, type KernelBuildName, type Kernels } from "../wasm/index";

/** The compiled module of each build KERNELS may name. */
export const KERNEL_MODULES: Record<KernelBuildName, WebAssembly.Module> = {
  relaxed: relaxedModule,
  simd: simdModule,
};

let build: KernelBuildName = "relaxed";

/**
 * Sets the isolate's build from the KERNELS var (unset or empty: relaxed). An unknown name is a
 * deployment error: it throws, naming the choices.
 */
export function useKernelBuild(value: string | undefined): void {
  const name = value ? value : "relaxed";
  if (!Object.hasOwn(KERNEL_MODULES, name))
    throw new Error(`KERNELS must be one of ${Object.keys(KERNEL_MODULES).join(", ")}, got '${value}'`);
  build = name as KernelBuildName;
}

/** The build this isolate runs. */
export function kernelBuild(): KernelBuildName {
  return build;
}

/** The compiled kernel module models of this isolate are instantiated from. */
export function kernelModule(): WebAssembly.Module {
  return KERNEL_MODULES[build];
}

const instances = new Map<KernelBuildName, Promise<Kernels>>();

/** The isolate's kernel instance of its build, created on first use. */
export function getKernels(): Promise<Kernels> {
  let k = instances.get(build);
  if (!k) instances.set(build, (k = instantiateKernels(KERNEL_MODULES[build])));
  return k;
}
