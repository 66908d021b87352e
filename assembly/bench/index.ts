// The benchmark-only module (tools/bench): the peak-rate loops, apart from the product's kernels.
// Built like the kernel module, twice (relaxed and simd), by tools/build/kernels.ts.
export { build_features, heap_base } from "../features";
export { peak_relaxed_dot, peak_relaxed_dot_split, peak_dot_i16x8, peak_f32x4_muladd } from "./peak";
