import { describe, expect, it } from "vitest";
import { arena, BUILDS, kernelByName, loadBuild, namesOf, rng } from "../../helpers/kernels";
import { absMatmul, matmulF64, SHAPES, uniform } from "./harness";

// Any order of summing K products in f32 is within gamma_K = K * 2^-24 of sum |x w| (Higham, Accuracy
// and Stability of Numerical Algorithms, 3.1); +1 for the product roundings, +1 for the bias add.
const f32DotErr = (k: number) => (k + 2) * 2 ** -24;

describe.each(BUILDS)("f32 GEMM ($name build)", ({ name: build, module }) => {
  it.each(SHAPES.flatMap((s) => [[...s, false] as const, [...s, true] as const]))(
    "M=%i N=%i K=%i bias=%s: simd and scalar within budget of float64",
    async (mm, n, kk, withBias) => {
      const k = await loadBuild(module);
      const m = arena(k);
      const r = rng(mm * 777 + n * 7 + kk);
      const x = uniform(r, mm * kk, 2);
      const w = uniform(r, n * kk, 0.5);
      const bias = withBias ? uniform(r, n) : null;
      const px = m.put(x);
      const pw = m.put(w);
      const pb = m.put(bias);
      const exact = matmulF64(x, w, mm, n, kk, bias);
      const scale = absMatmul(x, w, mm, n, kk);
      for (const name of namesOf("f32", "gemm", build)) {
        const y = m.alloc(mm * n * 4);
        kernelByName(k, name, "f32gemm")(px, pw, pb, y, mm, n, kk);
        const got = m.readF32(y, mm * n);
        for (let o = 0; o < mm * n; o++) {
          const b = bias ? Math.abs(bias[o % n]) : 0;
          expect(Math.abs(got[o] - exact[o]), `${name} at ${o}`).toBeLessThanOrEqual(
            f32DotErr(kk) * (scale[o] + b),
          );
        }
      }
    },
  );

  it("propagates NaN and infinity from the inputs", async () => {
    const k = await loadBuild(module);
    const m = arena(k);
    const x = new Float32Array([1, 2, 3, 4, 5, NaN, 1, 1, 1, 1, Infinity, 1, 1, 1, 1, 1, 1, 1]);
    const w = new Float32Array(18).fill(1);
    const y = m.alloc(3 * 4);
    k.exports.f32_gemm_2x4__simd(m.put(x), m.put(w), 0, y, 3, 1, 6);
    const got = m.readF32(y, 3);
    expect(got[0]).toBeNaN();
    expect(got[1]).toBe(Infinity);
    expect(got[2]).toBe(6);
  });
});
