// Elementwise activations over n contiguous f32 values, and the row bias add that follows a GEMM.
//   GELU (exact erf form, torch.nn.GELU() default): gelu(x) = x * Phi(x), Phi(x) = (1 + erf(x / sqrt2)) / 2,
//     erf from the rational approximation of ./math.ts (|error| <= 4e-7, no exp), so |Phi - exact| <=
//     2e-7 + rounding and |gelu - exact| <~ |x| * 3e-7. For x << 0 the output is tiny and only its absolute
//     error is controlled (1 + erf cancels there; erf is clamped to [-1, 1], so Phi >= 0 and the sign holds).
//     The tanh approximation is NOT used: the PyTorch reference model uses the erf form.
//   SwiGLU: out = silu(gate) * up, silu(g) = g / (1 + exp(-g)).
//   Bias add: x[r, :] += b over m rows of n.
// Scalar and SIMD variants perform the same IEEE operations per element, so they are bit-identical.
// All kernels may run in place (out aliasing an input).
// Requires: SIMD128 for the __simd variants.
import { erf_f32, erf_f32x4, exp_f32, exp_f32x4, K_ONE } from "./math";

const SQRT1_2: f32 = 0.707106781;
// Lane-replicated rows of the loop constants (./math.ts says why they are loads, not splats).
const K_HALF = memory.data<f32>([0.5, 0.5, 0.5, 0.5], 16);
const K_SQRT1_2 = memory.data<f32>([SQRT1_2, SQRT1_2, SQRT1_2, SQRT1_2], 16);

/** GELU (erf form), scalar reference. x, out: [n]. */
export function f32_gelu__scalar(x: usize, out: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = (<usize>i) << 2;
    const v = load<f32>(x + o);
    store<f32>(out + o, v * (<f32>0.5 + <f32>0.5 * erf_f32(v * SQRT1_2)));
  }
}

/** GELU (erf form), SIMD. Same signature as the scalar reference. */
export function f32_gelu__simd(x: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const o = (<usize>i) << 2;
    const v0 = v128.load(x + o);
    const v1 = v128.load(x + o, 16);
    const e0 = inline.always(erf_f32x4(f32x4.mul(v0, v128.load(K_SQRT1_2))));
    const e1 = inline.always(erf_f32x4(f32x4.mul(v1, v128.load(K_SQRT1_2))));
    const half = v128.load(K_HALF);
    v128.store(out + o, f32x4.mul(v0, f32x4.add(half, f32x4.mul(half, e0))));
    v128.store(out + o, f32x4.mul(v1, f32x4.add(half, f32x4.mul(half, e1))), 16);
  }
  for (; i + 4 <= n; i += 4) {
    const o = (<usize>i) << 2;
    const v = v128.load(x + o);
    const e = inline.always(erf_f32x4(f32x4.mul(v, v128.load(K_SQRT1_2))));
    const half = v128.load(K_HALF);
    v128.store(out + o, f32x4.mul(v, f32x4.add(half, f32x4.mul(half, e))));
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    const v = load<f32>(x + o);
    store<f32>(out + o, v * (<f32>0.5 + <f32>0.5 * erf_f32(v * SQRT1_2)));
  }
}

/** SwiGLU, scalar reference: out = silu(gate) * up. gate, up, out: [n]. */
export function f32_swiglu__scalar(gate: usize, up: usize, out: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = (<usize>i) << 2;
    const g = load<f32>(gate + o);
    store<f32>(out + o, (g / (<f32>1 + exp_f32(-g))) * load<f32>(up + o));
  }
}

/** SwiGLU, SIMD. Same signature as the scalar reference. */
export function f32_swiglu__simd(gate: usize, up: usize, out: usize, n: i32): void {
  const one = v128.load(K_ONE);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const o = (<usize>i) << 2;
    const g0 = v128.load(gate + o);
    const g1 = v128.load(gate + o, 16);
    const s0 = f32x4.div(g0, f32x4.add(one, inline.always(exp_f32x4(f32x4.neg(g0)))));
    const s1 = f32x4.div(g1, f32x4.add(one, inline.always(exp_f32x4(f32x4.neg(g1)))));
    v128.store(out + o, f32x4.mul(s0, v128.load(up + o)));
    v128.store(out + o, f32x4.mul(s1, v128.load(up + o, 16)), 16);
  }
  for (; i + 4 <= n; i += 4) {
    const o = (<usize>i) << 2;
    const g = v128.load(gate + o);
    const s = f32x4.div(g, f32x4.add(one, inline.always(exp_f32x4(f32x4.neg(g)))));
    v128.store(out + o, f32x4.mul(s, v128.load(up + o)));
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    const g = load<f32>(gate + o);
    store<f32>(out + o, (g / (<f32>1 + exp_f32(-g))) * load<f32>(up + o));
  }
}

/** Row bias add in place, scalar reference: x[r, i] += b[i]. x: [m, n]; b: [n]. */
export function f32_bias_add__scalar(x: usize, b: usize, m: i32, n: i32): void {
  for (let r = 0; r < m; r++) {
    const xr = x + ((<usize>r * n) << 2);
    for (let i = 0; i < n; i++) {
      const o = (<usize>i) << 2;
      store<f32>(xr + o, load<f32>(xr + o) + load<f32>(b + o));
    }
  }
}

/** Row bias add in place, SIMD. Same signature as the scalar reference. */
export function f32_bias_add__simd(x: usize, b: usize, m: i32, n: i32): void {
  for (let r = 0; r < m; r++) {
    const xr = x + ((<usize>r * n) << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = (<usize>i) << 2;
      v128.store(xr + o, f32x4.add(v128.load(xr + o), v128.load(b + o)));
    }
    for (; i < n; i++) {
      const o = (<usize>i) << 2;
      store<f32>(xr + o, load<f32>(xr + o) + load<f32>(b + o));
    }
  }
}
