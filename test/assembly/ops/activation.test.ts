// GELU, SwiGLU and the row bias add (assembly/ops/activation.ts): SIMD must equal scalar bit for bit
// (same operations per element), and both must be within the named budgets of float64 references, on
// tile multiples, tails, n < 4 and special values.
import { describe, expect, it } from "vitest";
import { arena, BUILDS, isasOf, kernelOf, loadBuild, rng } from "../../helpers/kernels";
import { U, expectWithin, gelu64, swiglu64, uniform } from "./reference";

const SIZES = [1, 2, 3, 4, 8, 13, 64, 100];

// GELU: x * Phi(x), Phi = (1 + erf)/2 with erf the rational approximation of assembly/ops/math.ts, whose
// error is <= 4e-7 in f32 (measured on a dense grid against float64 erf), so <= 2e-7 in Phi, plus 8u for
// the rounding of 0.5 + 0.5 * erf. Error scales with |x|, not |gelu(x)|: for x << 0 the output is tiny
// and only the absolute error in Phi is controlled.
const GELU_PHI_ABS = 2e-7 + 8 * U;
// SwiGLU: exp within 4u, 1 + e, the division and the product by `up` add 3u; relative to |ref|. For
// g < -88.37 exp(-g) is +inf and the output is -0 instead of ~g * exp(g), below 1e-36 in magnitude, hence
// the absolute term.
const SWIGLU_REL = 8 * U;
const SWIGLU_ABS = 1e-35;

describe.each(BUILDS)("f32 activations ($name build)", ({ name: build, module }) => {
  const GELU = isasOf("f32", "gelu", build);
  const SWIGLU = isasOf("f32", "swiglu", build);
  const BIAS_ADD = isasOf("f32", "bias_add", build);
  it.each(SIZES)("gelu: simd == scalar, both near float64 erf form, n=%i", async (n) => {
    const k = await loadBuild(module);
    const a = arena(k);
    const x = uniform(rng(n + 100), n, -6, 6).map(Math.fround);
    const [s, ...fast] = GELU.map((isa) => {
      const out = a.f32(n);
      kernelOf(k, "f32", "gelu", isa, "unary")(a.f32(x), out, n);
      return a.readF32(out, n);
    });
    for (const v of fast) expect(v).toEqual(s);
    expectWithin(s, x.map(gelu64), (i) => GELU_PHI_ABS * Math.abs(x[i]) + 1e-38);
  });

  it("gelu: dense sweep and special values", async () => {
    const k = await loadBuild(module);
    const a = arena(k);
    const sweep = Array.from({ length: 4001 }, (_, i) => Math.fround(-10 + i * 0.005));
    const specials = [0, -0, 1e-30, -1e-30, 20, -20, 1e30, -1e30, Infinity, -Infinity, NaN];
    const x = [...sweep, ...specials];
    const [s, ...fast] = GELU.map((isa) => {
      const out = a.f32(x.length);
      kernelOf(k, "f32", "gelu", isa, "unary")(a.f32(x), out, x.length);
      return a.readF32(out, x.length);
    });
    for (const v of fast) expect(v).toEqual(s);
    expectWithin(
      s.slice(0, sweep.length),
      sweep.map(gelu64),
      (i) => GELU_PHI_ABS * Math.abs(sweep[i]) + 1e-38,
    );
    const sp = Array.from(s.slice(sweep.length));
    expect(sp.slice(0, 4)).toEqual([0, -0, 5e-31, -5e-31].map(Math.fround));
    expect(sp.slice(4, 8)).toEqual([20, -0, 1e30, -0].map(Math.fround));
    expect(sp[8]).toBe(Infinity);
    expect(sp[9]).toBeNaN(); // torch: -inf * Phi(-inf) = -inf * 0
    expect(sp[10]).toBeNaN();
  });

  it.each(SIZES)("swiglu: simd == scalar, both near float64, n=%i", async (n) => {
    const k = await loadBuild(module);
    const a = arena(k);
    const r = rng(n + 200);
    const g = uniform(r, n, -12, 12).map(Math.fround);
    const up = uniform(r, n, -2, 2).map(Math.fround);
    const [s, ...fast] = SWIGLU.map((isa) => {
      const out = a.f32(n);
      kernelOf(k, "f32", "swiglu", isa, "swiglu")(a.f32(g), a.f32(up), out, n);
      return a.readF32(out, n);
    });
    for (const v of fast) expect(v).toEqual(s);
    const ref = g.map((gi, i) => swiglu64(gi, up[i]));
    expectWithin(s, ref, (i) => SWIGLU_REL * Math.abs(ref[i]) + SWIGLU_ABS);
  });

  it("swiglu: special values and in place", async () => {
    const k = await loadBuild(module);
    const a = arena(k);
    const g = [0, -0, 100, -100, 1e30, -1e30, 88, -88, 87.5];
    const up = [1, 1, 2, 2, 1, 1, 1, 1, -1];
    const ref = g.map((gi, i) => swiglu64(gi, up[i]));
    for (const isa of SWIGLU) {
      const gp = a.f32(g);
      kernelOf(k, "f32", "swiglu", isa, "swiglu")(gp, a.f32(up), gp, g.length);
      const got = a.readF32(gp, g.length);
      expectWithin(got, ref, (i) => SWIGLU_REL * Math.abs(ref[i]) + SWIGLU_ABS);
      expect(got[2]).toBe(200);
    }
  });

  it.each([1, 3, 4, 6, 33])("bias add: simd == scalar == float64 sum, n=%i", async (n) => {
    const k = await loadBuild(module);
    const a = arena(k);
    const m = 3;
    const r = rng(n + 300);
    const x = uniform(r, m * n).map(Math.fround);
    const b = uniform(r, n).map(Math.fround);
    const ref = x.map((xi, i) => Math.fround(xi + b[i % n]));
    for (const isa of BIAS_ADD) {
      const xp = a.f32(x);
      kernelOf(k, "f32", "bias_add", isa, "biasAdd")(xp, a.f32(b), m, n);
      expect(Array.from(a.readF32(xp, m * n))).toEqual(ref);
    }
  });
});
