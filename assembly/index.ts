// The kernel registry: the export list of the kernel module, nothing else.
// Names follow <dtype>_<op>[_<tile>]__<isa> (STYLE.md). Every fast kernel has a __scalar reference
// with the same signature. Built twice from this tree (asconfig.json): `relaxed` (SIMD + relaxed SIMD)
// and `simd` (SIMD only); in the `simd` build the __relaxed exports are absent.

export { build_features, heap_base } from "./features";
export { f32_add__scalar, f32_add__simd } from "./elementwise/add";
