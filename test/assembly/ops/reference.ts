// Float64 references for the f32 kernels (norms, softmax, activations, RoPE, attention) and the
// comparison helpers their tests share. Plain JS numbers, written from the PyTorch definitions, so
// that they check the kernels' f32 approximations, not just scalar-vs-SIMD agreement.
import { expect } from "vitest";

/** f32 unit roundoff 2^-24: the scale every error budget is written in. */
export const U = 2 ** -24;

/** Uniform random values in [lo, hi). */
export function uniform(r: () => number, n: number, lo = -1, hi = 1): number[] {
  return Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** Largest |got[i] - ref[i]| / tol(i): <= 1 means within budget. Identical values (incl. inf, NaN) pass. */
export function worstRatio(
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  tol: (i: number) => number,
): number {
  expect(got.length).toBe(ref.length);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    if (Object.is(got[i], ref[i]) || got[i] === ref[i]) continue;
    const ratio = Math.abs(got[i] - ref[i]) / tol(i);
    if (!(ratio <= worst)) worst = Number.isNaN(ratio) ? Infinity : ratio;
  }
  return worst;
}

/** Asserts |got[i] - ref[i]| <= tol(i) for every i. */
export function expectWithin(
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  tol: (i: number) => number,
): void {
  expect(worstRatio(got, ref, tol)).toBeLessThanOrEqual(1);
}

/** erf in float64: Maclaurin series for |z| < 2.5, Lentz-free continued fraction of erfc beyond (~1e-14). */
export function erf64(z: number): number {
  const a = Math.abs(z);
  if (a < 2.5) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 80; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(z) * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  if (!Number.isFinite(a)) return Math.sign(z);
  let f = a;
  for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
  const erfc = Math.exp(-a * a) / (Math.sqrt(Math.PI) * f);
  return Math.sign(z) * (1 - erfc);
}

/** torch.nn.GELU() (approximate="none"): x * Phi(x). */
export const gelu64 = (x: number): number => 0.5 * x * (1 + erf64(x / Math.SQRT2));
/** silu(g) * up. */
export const swiglu64 = (g: number, up: number): number => (g / (1 + Math.exp(-g))) * up;

/** Softmax of one row (max-subtracted); an all -inf row gives zeros, as the kernels define. */
export function softmax64(row: ArrayLike<number>): number[] {
  const mx = Math.max(...Array.from(row));
  if (mx === -Infinity) return Array.from(row, () => 0);
  const e = Array.from(row, (x) => Math.exp(x - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** RMSNorm over rows of x [m, n]. */
export function rmsnorm64(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  m: number,
  n: number,
  eps: number,
): number[] {
  const out: number[] = [];
  for (let r = 0; r < m; r++) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[r * n + i] ** 2;
    const inv = 1 / Math.sqrt(ss / n + eps);
    for (let i = 0; i < n; i++) out.push(x[r * n + i] * inv * w[i]);
  }
  return out;
}

/** LayerNorm over rows of x [m, n] (biased variance, as torch). */
export function layernorm64(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  n: number,
  eps: number,
): number[] {
  const out: number[] = [];
  for (let r = 0; r < m; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[r * n + i];
    const mean = s / n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (x[r * n + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(ss / n + eps);
    for (let i = 0; i < n; i++) out.push((x[r * n + i] - mean) * inv * w[i] + b[i]);
  }
  return out;
}

/** HF RoPE angle in f32 as the kernels' table (and HF) computes it: f32(pos * f32(inv_freq)). */
export function ropeAngle(pos: number, i: number, half: number, theta: number): number {
  return Math.fround(pos * Math.fround(1 / theta ** (i / half)));
}
