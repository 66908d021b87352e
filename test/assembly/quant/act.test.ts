import { describe, expect, it } from "vitest";
import { arena, BUILDS, kernelByName, loadBuild, namesOf, rng } from "../../helpers/kernels";
import { ACT_ZERO, actStride, quantizeActivations } from "../../../wasm/quant";

/** Runs one activation quantizer; returns the u8 [M, KP] codes and the f32 [M] scales. */
async function run(module: WebAssembly.Module, name: string, x: Float32Array, mm: number, kk: number) {
  const k = await loadBuild(module);
  const m = arena(k);
  const px = m.f32(x);
  const kp = actStride(kk);
  const xq = m.alloc(mm * kp);
  new Uint8Array(k.memory.buffer, xq, mm * kp).fill(0xee); // padding must be overwritten
  const xs = m.alloc(mm * 4);
  kernelByName(k, name, "actQuantize")(px, xq, xs, mm, kk);
  return { xq: new Uint8Array(k.memory.buffer, xq, mm * kp).slice(), scales: m.readF32(xs, mm) };
}

describe.each(BUILDS)("q8_act_quantize ($name build)", ({ name: build, module }) => {
  const KERNELS = namesOf("q8", "act_quantize", build);
  it.each([
    [1, 1],
    [1, 15],
    [2, 16],
    [3, 17],
    [2, 31],
    [1, 32],
    [4, 33],
    [3, 100],
    [2, 128],
  ])("M=%i K=%i: scalar and simd match the JS reference bit for bit", async (mm, kk) => {
    const r = rng(mm * 100 + kk);
    const x = Float32Array.from({ length: mm * kk }, () => (r() * 2 - 1) * 10 ** (r() * 4 - 2));
    const want = quantizeActivations(x, mm, kk);
    for (const name of KERNELS) {
      const got = await run(module, name, x, mm, kk);
      expect(got.xq, name).toEqual(want.xq);
      expect(got.scales, name).toEqual(want.scales);
      expect(got.xq.every((v, i) => (i % actStride(kk) < kk ? v >= 1 && v <= 127 : v === ACT_ZERO))).toBe(
        true,
      );
    }
  });

  it("rounds ties to even, maps zero rows to scale 1, and reaches the ends 1 and 127", async () => {
    // max |x| = 63 gives s = 1 exactly, so x / s is the value itself.
    const row = [63, 2.5, 3.5, -2.5, -3.5, 0.5, -0.5, 1.5, -63, 62.5, 0, 0, 0, 0, 0, 0, 0, 0];
    const x = new Float32Array([...row, ...new Array(row.length).fill(0)]);
    for (const name of KERNELS) {
      const got = await run(module, name, x, 2, row.length);
      expect(Array.from(got.scales)).toEqual([1, 1]);
      expect(Array.from(got.xq.subarray(0, 10))).toEqual([127, 66, 68, 62, 60, 64, 64, 66, 1, 126]);
      expect(got.xq.subarray(32, 64).every((v) => v === ACT_ZERO)).toBe(true);
    }
  });

  it("scalar and simd agree on NaN and infinity rows", async () => {
    const k = 20;
    const x = new Float32Array(3 * k).map((_, i) => Math.sin(i));
    x[3] = NaN;
    x[k + 5] = Infinity;
    x[2 * k + 17] = -Infinity; // in the scalar tail of the SIMD variant
    const [a, b] = [await run(module, KERNELS[0], x, 3, k), await run(module, KERNELS[1], x, 3, k)];
    expect(b.xq).toEqual(a.xq);
    expect(b.scales).toEqual(a.scales);
  });
});
