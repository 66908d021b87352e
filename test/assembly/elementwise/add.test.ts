import { describe, expect, it } from "vitest";
import { arena, BUILDS, kernelByName, loadBuild, namesOf, rng } from "../../helpers/kernels";

describe.each(BUILDS)("f32_add ($name build)", ({ name: build, module }) => {
  const [scalar, ...fast] = namesOf("f32", "add", build);
  it.each([0, 1, 3, 4, 7, 64, 65, 1023])("simd matches scalar at n=%i", async (n) => {
    const k = await loadBuild(module);
    const m = arena(k);
    const r = rng(n + 1);
    const a = m.f32(Array.from({ length: n }, () => r() * 2 - 1));
    const b = m.f32(Array.from({ length: n }, () => r() * 2 - 1));
    const ref = m.f32(n);
    kernelByName(k, scalar, "add")(a, b, ref, n);
    for (const name of fast) {
      const out = m.f32(n);
      kernelByName(k, name, "add")(a, b, out, n);
      expect(m.readF32(out, n), name).toEqual(m.readF32(ref, n));
    }
  });

  it("propagates special values", async () => {
    const k = await loadBuild(module);
    const m = arena(k);
    const vals = [Infinity, -Infinity, NaN, 0, -0, 3.4e38, 1e-45];
    const a = m.f32(vals);
    const b = m.f32([Infinity, Infinity, 1, -0, -0, 3.4e38, 1e-45]);
    const out = m.f32(vals.length);
    k.exports.f32_add__simd(a, b, out, vals.length);
    const got = m.readF32(out, vals.length);
    expect(got[0]).toBe(Infinity);
    expect(got[1]).toBeNaN();
    expect(got[2]).toBeNaN();
    expect(Object.is(got[4], -0)).toBe(true);
    expect(got[5]).toBe(Infinity);
  });
});
