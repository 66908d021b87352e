// The kernel module's export list, written by tools/build/kernels.ts from the kernel table
// (wasm/kernels.ts): edit the table, not this file. Built twice (asconfig.json): relaxed and simd.

export { build_features, heap_base, rdot_probe } from "./features";
export { f32_add__scalar, f32_add__simd } from "./elementwise/add";
export { f32_rmsnorm__scalar, f32_rmsnorm__simd } from "./ops/norm";
export { f32_layernorm__scalar, f32_layernorm__simd } from "./ops/norm";
export { f32_softmax__scalar, f32_softmax__simd } from "./ops/softmax";
export { f32_gelu__scalar, f32_gelu__simd } from "./ops/activation";
export { f32_swiglu__scalar, f32_swiglu__simd } from "./ops/activation";
export { f32_bias_add__scalar, f32_bias_add__simd } from "./ops/activation";
export { f32_rope_table__scalar } from "./ops/rope";
export { f32_rope__scalar, f32_rope__simd } from "./ops/rope";
export { f32_argmax__scalar, f32_argmax__simd } from "./ops/select";
export { f32_topk__scalar, f32_topk__simd } from "./ops/select";
export { f32_attention__scalar } from "./attention/scalar";
export { f32_attention__simd, f32_attention__relaxed } from "./attention/simd";
export { q8_act_quantize__scalar, q8_act_quantize__simd } from "./quant/act";
export { q8_weight_sums__scalar, q8_weight_sums__simd } from "./quant/wsum";
export {
  q8_f32_gemm__scalar,
  q8_f32_gemm_2x4__simd,
  q8_f32_gemm_2x4__relaxed_split,
  q8_f32_gemm_2x4__relaxed,
} from "./gemm/q8_gemm";
export {
  q8_f32_gemv__scalar,
  q8_f32_gemv_1x8__simd,
  q8_f32_gemv_1x8__relaxed_split,
  q8_f32_gemv_1x8__relaxed,
} from "./gemm/q8_gemv";
export { q4_f32_gemm__scalar, q4_f32_gemm_2x4__simd, q4_f32_gemm_2x4__relaxed } from "./gemm/q4_gemm";
export { q4_f32_gemv__scalar, q4_f32_gemv_1x8__simd, q4_f32_gemv_1x8__relaxed } from "./gemm/q4_gemv";
export { f32_gemm__scalar, f32_gemm_2x4__simd } from "./gemm/f32_gemm";
