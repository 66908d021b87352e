// Row softmax (assembly/ops/softmax.ts): SIMD vs scalar, both vs float64, on tile multiples, tails,
// n < 4, huge magnitudes (overflow without max subtraction), -inf masked entries and all-masked rows.
import { describe, expect, it } from "vitest";
import { arena, BUILDS, isasOf, kernelOf, loadBuild, rng } from "../../helpers/kernels";
import type { Isa } from "../../../wasm/kernels";
import { U, expectWithin, softmax64, uniform } from "./reference";

const SIZES = [1, 2, 3, 4, 5, 16, 19, 64, 200];
const M = 3;

// Budgets, relative to |ref|. exp is within 4u (math.ts: 3.3 ulp measured); rounding x - max moves the
// exponent by <= |x - max| * u, i.e. a relative error of spread * u in e; the sum of n positive terms
// carries (n-1)u (Higham gamma_{n-1}); 1/sum and the product add 2u. The exps of the SIMD and scalar
// variants are bit-identical, so they differ only by the two sums' errors. A tiny absolute term covers
// entries below exp(-87.3), which the kernel flushes to 0.
const SOFTMAX_F64_REL = (n: number, spread: number) => (n + spread + 6) * U;
const SOFTMAX_SIMD_REL = (n: number) => (2 * n + 2) * U;
const FLUSH_ABS = 1e-37;

function run(k: Awaited<ReturnType<typeof loadBuild>>, isa: Isa, x: number[], m: number) {
  const a = arena(k);
  const n = x.length / m;
  const out = a.f32(m * n);
  kernelOf(k, "f32", "softmax", isa, "softmax")(a.f32(x), out, m, n);
  return a.readF32(out, m * n);
}

function reference(x: number[], m: number): number[] {
  const n = x.length / m;
  return Array.from({ length: m }, (_, r) => softmax64(x.slice(r * n, r * n + n))).flat();
}

describe.each(BUILDS)("f32_softmax ($name build)", ({ name: build, module }) => {
  const SOFTMAX = isasOf("f32", "softmax", build);
  it.each(SIZES)("matches float64 and scalar at n=%i", async (n) => {
    const k = await loadBuild(module);
    const x = uniform(rng(n + 40), M * n, -8, 8);
    const ref = reference(x, M);
    const [s, ...fast] = SOFTMAX.map((isa) => run(k, isa, x, M));
    for (const got of [s, ...fast])
      expectWithin(got, ref, (i) => SOFTMAX_F64_REL(n, 16) * ref[i] + FLUSH_ABS);
    for (const v of fast) {
      expectWithin(v, s, (i) => SOFTMAX_SIMD_REL(n) * s[i]);
      for (let r = 0; r < M; r++) {
        const sum = v.slice(r * n, r * n + n).reduce((p, c) => p + c, 0);
        expect(Math.abs(sum - 1)).toBeLessThanOrEqual(SOFTMAX_F64_REL(n, 16) + n * U);
      }
    }
  });

  it.each(SOFTMAX)("stays finite at huge magnitudes (%s)", async (isa) => {
    const k = await loadBuild(module);
    const x = [1e30, 1e30 - 1e24, -1e30, 3.0e38, 3.0e38, -3.0e38, 88.5, 89, 100];
    const got = run(k, isa, x, 1);
    const ref = softmax64(x.map(Math.fround));
    expect(got.every(Number.isFinite)).toBe(true);
    expectWithin(got, ref, (i) => SOFTMAX_F64_REL(x.length, 0) * ref[i] + FLUSH_ABS);
    expect(got[3]).toBeCloseTo(0.5, 6);
    const small = [88.5, 89, 100, 101, 90];
    const ref2 = softmax64(small);
    expectWithin(run(k, isa, small, 1), ref2, (i) => SOFTMAX_F64_REL(5, 13) * ref2[i] + FLUSH_ABS);
  });

  it.each(SOFTMAX)("gives exact zeros at -inf and zero rows when all masked (%s)", async (isa) => {
    const k = await loadBuild(module);
    const n = 7;
    const masked = [0.5, -Infinity, 2, -Infinity, -1, 1, -Infinity];
    const x = [...masked, ...new Array<number>(n).fill(-Infinity)];
    const got = run(k, isa, x, 2);
    const ref = softmax64(masked);
    expectWithin(got.slice(0, n), ref, (i) => SOFTMAX_F64_REL(n, 3) * ref[i]);
    for (const i of [1, 3, 6]) expect(got[i]).toBe(0);
    expect(Array.from(got.slice(n))).toEqual(new Array<number>(n).fill(0));
  });

  it.each(SOFTMAX)("runs in place and handles equal entries (%s)", async (isa) => {
    const k = await loadBuild(module);
    const a = arena(k);
    const n = 8;
    const p = a.f32(new Array<number>(n).fill(3.25));
    kernelOf(k, "f32", "softmax", isa, "softmax")(p, p, 1, n);
    expect(Array.from(a.readF32(p, n))).toEqual(new Array<number>(n).fill(1 / n));
  });
});
