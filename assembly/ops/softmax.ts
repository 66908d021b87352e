// Numerically stable softmax over M rows of n contiguous f32 values: x [m, n] -> out [m, n] (may alias).
//   mx = max(row); e_i = exp(x_i - mx); out_i = e_i * (1 / sum(e))
// x_i - mx <= 0, so exp never overflows whatever the magnitudes; -inf entries (masked) give exactly 0.
// A row that is entirely -inf has no defined softmax: it is written as zeros.
// exp is the shared polynomial of ./math.ts; the max is exact in any order, so the __simd variant differs
// from the scalar reference only in the rounding of the sum (4 lane sums vs one running sum).
// Requires: SIMD128 for the __simd variant.
import { exp_f32, exp_f32x4, hmax_f32x4, hsum_f32x4 } from "./math";

/** Softmax over rows, scalar reference. x, out: [m, n]. */
export function f32_softmax__scalar(x: usize, out: usize, m: i32, n: i32): void {
  for (let r = 0; r < m; r++) {
    const xr = x + ((<usize>r * n) << 2);
    const or = out + ((<usize>r * n) << 2);
    let mx: f32 = -Infinity;
    for (let i = 0; i < n; i++) mx = max<f32>(mx, load<f32>(xr + ((<usize>i) << 2)));
    if (mx == -Infinity) {
      memory.fill(or, 0, (<usize>n) << 2);
      continue;
    }
    let sum: f32 = 0;
    for (let i = 0; i < n; i++) {
      const o = (<usize>i) << 2;
      const e = exp_f32(load<f32>(xr + o) - mx);
      store<f32>(or + o, e);
      sum += e;
    }
    const inv = <f32>1 / sum;
    for (let i = 0; i < n; i++) {
      const o = (<usize>i) << 2;
      store<f32>(or + o, load<f32>(or + o) * inv);
    }
  }
}

/** Softmax over rows, SIMD. Same signature as the scalar reference. */
export function f32_softmax__simd(x: usize, out: usize, m: i32, n: i32): void {
  const n4 = n & ~3;
  for (let r = 0; r < m; r++) {
    const xr = x + ((<usize>r * n) << 2);
    const or = out + ((<usize>r * n) << 2);
    let vmx = f32x4.splat(-Infinity);
    for (let i = 0; i < n4; i += 4) vmx = f32x4.max(vmx, v128.load(xr + ((<usize>i) << 2)));
    let mx = hmax_f32x4(vmx);
    for (let i = n4; i < n; i++) mx = max<f32>(mx, load<f32>(xr + ((<usize>i) << 2)));
    if (mx == -Infinity) {
      memory.fill(or, 0, (<usize>n) << 2);
      continue;
    }
    const vm = f32x4.splat(mx);
    let acc = f32x4.splat(0);
    for (let i = 0; i < n4; i += 4) {
      const o = (<usize>i) << 2;
      const e = inline.always(exp_f32x4(f32x4.sub(v128.load(xr + o), vm)));
      v128.store(or + o, e);
      acc = f32x4.add(acc, e);
    }
    let sum = hsum_f32x4(acc);
    for (let i = n4; i < n; i++) {
      const o = (<usize>i) << 2;
      const e = exp_f32(load<f32>(xr + o) - mx);
      store<f32>(or + o, e);
      sum += e;
    }
    const inv = <f32>1 / sum;
    const vinv = f32x4.splat(inv);
    for (let i = 0; i < n4; i += 4) {
      const o = (<usize>i) << 2;
      v128.store(or + o, f32x4.mul(v128.load(or + o), vinv));
    }
    for (let i = n4; i < n; i++) {
      const o = (<usize>i) << 2;
      store<f32>(or + o, load<f32>(or + o) * inv);
    }
  }
}
