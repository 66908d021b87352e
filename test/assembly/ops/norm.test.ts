// RMSNorm and LayerNorm (assembly/ops/norm.ts): SIMD vs scalar, both vs float64, on tile multiples,
// tails, n < 4, zero rows (eps only) and constant rows, in both kernel builds.
import { describe, expect, it } from "vitest";
import { arena, BUILDS, isasOf, kernelOf, loadBuild, rng } from "../../helpers/kernels";
import { U, expectWithin, layernorm64, rmsnorm64, uniform } from "./reference";

const SIZES = [1, 2, 3, 4, 7, 16, 17, 64, 131];
const M = 3;
const EPS = 1e-5;

// Budgets, relative to |ref| for RMSNorm. The row sum of n squares has relative error <= (n-1)u in any
// summation order (Higham, recursive summation gamma_{n-1}); sqrt halves it, 1/sqrt, the mean and the two
// products add ~4u. SIMD and scalar differ only in that sum, so they are within twice the sum bound.
const RMS_F64_REL = (n: number) => (n + 8) * U;
const RMS_SIMD_REL = (n: number) => (2 * n + 4) * U;
// LayerNorm, absolute: mean and variance sums carry (n-1)u * sum|x| and (n-1)u * sum (x-mean)^2, which
// move every output by <= (n + 8)u * inv * |w| * (|x - mean| + max|x|), plus u * |b| for the bias add.
const lnBudget = (n: number, x: number[], w: number[], b: number[], inv: number[]) => (i: number) => {
  const r = Math.floor(i / n);
  const row = x.slice(r * n, r * n + n);
  const mean = row.reduce((a, c) => a + c, 0) / n;
  const maxAbs = Math.max(...row.map(Math.abs));
  const c = i % n;
  return (n + 8) * U * (inv[r] * Math.abs(w[c]) * (Math.abs(x[i] - mean) + maxAbs) + Math.abs(b[c])) + 1e-30;
};

describe.each(BUILDS)("f32 norms ($name build)", ({ name: build, module }) => {
  const RMSNORM = isasOf("f32", "rmsnorm", build);
  const LAYERNORM = isasOf("f32", "layernorm", build);
  it.each(SIZES)("rmsnorm matches float64 and scalar at n=%i", async (n) => {
    const k = await loadBuild(module);
    const a = arena(k);
    const r = rng(n * 7 + 1);
    const x = uniform(r, M * n, -3, 3);
    const w = uniform(r, n, 0.5, 1.5);
    const ref = rmsnorm64(x, w, M, n, EPS);
    const outs = RMSNORM.map((isa) => {
      const out = a.f32(M * n);
      kernelOf(k, "f32", "rmsnorm", isa, "rmsnorm")(a.f32(x), a.f32(w), out, M, n, EPS);
      return a.readF32(out, M * n);
    });
    for (const got of outs) expectWithin(got, ref, (i) => RMS_F64_REL(n) * Math.abs(ref[i]));
    for (const got of outs.slice(1))
      expectWithin(got, outs[0], (i) => RMS_SIMD_REL(n) * Math.abs(outs[0][i]));
  });

  it.each(SIZES)("layernorm matches float64 and scalar at n=%i", async (n) => {
    const k = await loadBuild(module);
    const a = arena(k);
    const r = rng(n * 13 + 5);
    // An offset of 4 makes the mean matter: a one-pass variance would lose digits here.
    const x = uniform(r, M * n, 2, 6);
    const w = uniform(r, n, 0.5, 1.5);
    const b = uniform(r, n, -0.5, 0.5);
    const ref = layernorm64(x, w, b, M, n, EPS);
    const inv = Array.from({ length: M }, (_, row) => {
      const xs = x.slice(row * n, row * n + n);
      const mean = xs.reduce((s, c) => s + c, 0) / n;
      return 1 / Math.sqrt(xs.reduce((s, c) => s + (c - mean) ** 2, 0) / n + EPS);
    });
    const budget = lnBudget(n, x, w, b, inv);
    const outs = LAYERNORM.map((isa) => {
      const out = a.f32(M * n);
      kernelOf(k, "f32", "layernorm", isa, "layernorm")(a.f32(x), a.f32(w), a.f32(b), out, M, n, EPS);
      return a.readF32(out, M * n);
    });
    for (const got of outs) expectWithin(got, ref, budget);
    for (const got of outs.slice(1)) expectWithin(got, outs[0], (i) => 2 * budget(i));
  });

  it.each(RMSNORM)("zero and constant rows give exact results (%s)", async (isa) => {
    const k = await loadBuild(module);
    const a = arena(k);
    const n = 9;
    const w = uniform(rng(3), n, 0.5, 1.5);
    const b = uniform(rng(4), n, -1, 1);
    const zeros = new Array<number>(n).fill(0);
    const out = a.f32(n);
    kernelOf(k, "f32", "rmsnorm", isa, "rmsnorm")(a.f32(zeros), a.f32(w), out, 1, n, EPS);
    expect(Array.from(a.readF32(out, n))).toEqual(zeros);
    for (const row of [zeros, new Array<number>(n).fill(5)]) {
      kernelOf(k, "f32", "layernorm", isa, "layernorm")(a.f32(row), a.f32(w), a.f32(b), out, 1, n, EPS);
      expect(a.readF32(out, n)).toEqual(Float32Array.from(b));
    }
  });

  it.each(RMSNORM)("runs in place (%s)", async (isa) => {
    const k = await loadBuild(module);
    const a = arena(k);
    const n = 21;
    const x = uniform(rng(9), 2 * n, -2, 2);
    const w = a.f32(uniform(rng(10), n));
    const sep = a.f32(2 * n);
    kernelOf(k, "f32", "rmsnorm", isa, "rmsnorm")(a.f32(x), w, sep, 2, n, EPS);
    const inPlace = a.f32(x);
    kernelOf(k, "f32", "rmsnorm", isa, "rmsnorm")(inPlace, w, inPlace, 2, n, EPS);
    expect(a.readF32(inPlace, 2 * n)).toEqual(a.readF32(sep, 2 * n));
  });
});
