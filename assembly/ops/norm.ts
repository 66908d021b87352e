// Row normalizations over M rows of n contiguous f32 values: RMSNorm (Llama) and LayerNorm (ViT).
// x [m, n] -> out [m, n]; `out` may alias `x`. Weights w [n] (and bias b [n]) are shared by all rows.
//   RMSNorm:   out = x * (1 / sqrt(mean(x^2) + eps)) * w        (HF LlamaRMSNorm, weight applied last)
//   LayerNorm: out = (x - mean) * (1 / sqrt(var + eps)) * w + b  (torch.nn.LayerNorm, biased variance,
//              two passes: mean, then the sum of squared deviations, so large offsets do not cancel)
// The __simd variants keep 4 partial sums (lane-wise) and add them as (l0 + l1) + (l2 + l3) + tail,
// so they differ from the scalar reference only in the rounding of the row sums.
// Requires: SIMD128 for the __simd variants.
import { hsum_f32x4 } from "./math";

/** RMSNorm, scalar reference. x, out: [m, n]; w: [n]. */
export function f32_rmsnorm__scalar(x: usize, w: usize, out: usize, m: i32, n: i32, eps: f32): void {
  for (let r = 0; r < m; r++) {
    const xr = x + ((<usize>r * n) << 2);
    const or = out + ((<usize>r * n) << 2);
    let ss: f32 = 0;
    for (let i = 0; i < n; i++) {
      const v = load<f32>(xr + ((<usize>i) << 2));
      ss += v * v;
    }
    const inv = <f32>1 / Mathf.sqrt(ss / <f32>n + eps);
    for (let i = 0; i < n; i++) {
      const o = (<usize>i) << 2;
      store<f32>(or + o, load<f32>(xr + o) * inv * load<f32>(w + o));
    }
  }
}

/** RMSNorm, SIMD: 4-lane sum of squares, 4-lane scaling. Same signature as the scalar reference. */
export function f32_rmsnorm__simd(x: usize, w: usize, out: usize, m: i32, n: i32, eps: f32): void {
  for (let r = 0; r < m; r++) {
    const xr = x + ((<usize>r * n) << 2);
    const or = out + ((<usize>r * n) << 2);
    let acc = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(xr + ((<usize>i) << 2));
      acc = f32x4.add(acc, f32x4.mul(v, v));
    }
    let ss = hsum_f32x4(acc);
    for (; i < n; i++) {
      const v = load<f32>(xr + ((<usize>i) << 2));
      ss += v * v;
    }
    const inv = <f32>1 / Mathf.sqrt(ss / <f32>n + eps);
    const vinv = f32x4.splat(inv);
    i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = (<usize>i) << 2;
      v128.store(or + o, f32x4.mul(f32x4.mul(v128.load(xr + o), vinv), v128.load(w + o)));
    }
    for (; i < n; i++) {
      const o = (<usize>i) << 2;
      store<f32>(or + o, load<f32>(xr + o) * inv * load<f32>(w + o));
    }
  }
}

/** LayerNorm, scalar reference. x, out: [m, n]; w, b: [n]. */
export function f32_layernorm__scalar(
  x: usize,
  w: usize,
  b: usize,
  out: usize,
  m: i32,
  n: i32,
  eps: f32,
): void {
  for (let r = 0; r < m; r++) {
    const xr = x + ((<usize>r * n) << 2);
    const or = out + ((<usize>r * n) << 2);
    let s: f32 = 0;
    for (let i = 0; i < n; i++) s += load<f32>(xr + ((<usize>i) << 2));
    const mean = s / <f32>n;
    let ss: f32 = 0;
    for (let i = 0; i < n; i++) {
      const d = load<f32>(xr + ((<usize>i) << 2)) - mean;
      ss += d * d;
    }
    const inv = <f32>1 / Mathf.sqrt(ss / <f32>n + eps);
    for (let i = 0; i < n; i++) {
      const o = (<usize>i) << 2;
      store<f32>(or + o, (load<f32>(xr + o) - mean) * inv * load<f32>(w + o) + load<f32>(b + o));
    }
  }
}

/** LayerNorm, SIMD. Same signature as the scalar reference. */
export function f32_layernorm__simd(
  x: usize,
  w: usize,
  b: usize,
  out: usize,
  m: i32,
  n: i32,
  eps: f32,
): void {
  for (let r = 0; r < m; r++) {
    const xr = x + ((<usize>r * n) << 2);
    const or = out + ((<usize>r * n) << 2);
    const n4 = n & ~3;
    let acc = f32x4.splat(0);
    for (let i = 0; i < n4; i += 4) acc = f32x4.add(acc, v128.load(xr + ((<usize>i) << 2)));
    let s = hsum_f32x4(acc);
    for (let i = n4; i < n; i++) s += load<f32>(xr + ((<usize>i) << 2));
    const mean = s / <f32>n;
    const vmean = f32x4.splat(mean);
    acc = f32x4.splat(0);
    for (let i = 0; i < n4; i += 4) {
      const d = f32x4.sub(v128.load(xr + ((<usize>i) << 2)), vmean);
      acc = f32x4.add(acc, f32x4.mul(d, d));
    }
    let ss = hsum_f32x4(acc);
    for (let i = n4; i < n; i++) {
      const d = load<f32>(xr + ((<usize>i) << 2)) - mean;
      ss += d * d;
    }
    const inv = <f32>1 / Mathf.sqrt(ss / <f32>n + eps);
    const vinv = f32x4.splat(inv);
    for (let i = 0; i < n4; i += 4) {
      const o = (<usize>i) << 2;
      const y = f32x4.mul(f32x4.mul(f32x4.sub(v128.load(xr + o), vmean), vinv), v128.load(w + o));
      v128.store(or + o, f32x4.add(y, v128.load(b + o)));
    }
    for (let i = n4; i < n; i++) {
      const o = (<usize>i) << 2;
      store<f32>(or + o, (load<f32>(xr + o) - mean) * inv * load<f32>(w + o) + load<f32>(b + o));
    }
  }
}
