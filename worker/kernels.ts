// The kernel builds the Worker can run, imported as compiled modules (workerd refuses to compile Wasm
// bytes at run time): relaxed SIMD (the fused int8 dot; the default) and plain SIMD (the split form,
// i16x8 dot + widening). Both give bit-identical results (test/assembly/); which is faster depends on the
// host -- relaxed where the CPU has VNNI, plain SIMD where it has not and the relaxed dot is emulated
// (docs/platform.md) -- so the deployment picks one with KERNELS in wrangler.toml [vars]. A probe at load
// cannot choose: on Cloudflare's network the clock stands still during compute. /health instantiates the
// chosen build; the model loader gets its module.
import relaxedModule from "../wasm/build/kernels.relaxed.wasm";
import simdModule from "../wasm/build/kernels.simd.wasm";
import { instantiateKernels, type Kernels } from "../wasm/index";

/** The builds KERNELS may name. */
export const KERNEL_BUILDS = { relaxed: relaxedModule, simd: simdModule } as const;
export type KernelBuildName = keyof typeof KERNEL_BUILDS;

let build: KernelBuildName = "relaxed";

/**
 * Sets the isolate's build from the KERNELS var (unset or empty: relaxed). An unknown name is a
 * deployment error: it throws, naming the choices.
 */
export function useKernelBuild(value: string | undefined): void {
  const name = value ? value : "relaxed";
  if (!Object.hasOwn(KERNEL_BUILDS, name))
    throw new Error(`KERNELS must be one of ${Object.keys(KERNEL_BUILDS).join(", ")}, got '${value}'`);
  build = name as KernelBuildName;
}

/** The build this isolate runs. */
export function kernelBuild(): KernelBuildName {
  return build;
}

/** The compiled kernel module models of this isolate are instantiated from. */
export function kernelModule(): WebAssembly.Module {
  return KERNEL_BUILDS[build];
}

const instances = new Map<KernelBuildName, Promise<Kernels>>();

/** The isolate's kernel instance of its build, created on first use. */
export function getKernels(): Promise<Kernels> {
  let k = instances.get(build);
  if (!k) instances.set(build, (k = instantiateKernels(KERNEL_BUILDS[build])));
  return k;
}
