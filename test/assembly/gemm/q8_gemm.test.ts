import { describe, expect, it } from "vitest";
import { arena, BUILDS, loadBuild, namesOf, rng } from "../../helpers/kernels";
import {
  ACT_ZERO,
  dequantizeActivations,
  dequantizeQ8,
  q8WeightSums,
  quantizeActivations,
  quantizeQ8,
} from "../../../wasm/quant";
import { absMatmul, matmulF64, runGemm, runGemvRow0, SHAPES, uniform, type QProblem } from "./harness";

// The integer dot is exact (|dot| <= 127 * 63 * K < 2^24 here, so f32(dot) is exact too); the output
// stage rounds s_x * s_w, the product and the bias add: 3 roundings of 2^-24, one spare.
const Q8_OUT_REL_ERR = 4 * 2 ** -24;
// Per element, rounding to the grid moves x by at most s_x / 2 and w by s_w / 2; the slack covers the
// f32 division before rounding (relative 2^-24 of at most 127).
const HALF_STEP = 0.5 + 1e-4;

interface Problem extends QProblem {
  x: Float32Array;
  wf: Float32Array;
  bias: Float32Array | null;
  dx: Float32Array;
  dw: Float32Array;
  xs: Float32Array;
  ws: Float32Array;
}

async function problem(
  module: WebAssembly.Module,
  x: Float32Array,
  wf: Float32Array,
  bias: Float32Array | null,
  [mm, n, kk]: [number, number, number],
): Promise<Problem> {
  const k = await loadBuild(module);
  const m = arena(k);
  const act = quantizeActivations(x, mm, kk);
  const q = quantizeQ8(wf, n, kk);
  const wsum = m.alloc(n * 4);
  const args: Problem["args"] = [
    m.put(act.xq),
    m.put(act.scales),
    m.put(q.data),
    m.put(q.scales),
    wsum,
    m.put(bias),
  ];
  k.exports.q8_weight_sums__simd(args[2], wsum, n, kk);
  expect(new Int32Array(k.memory.buffer, wsum, n)).toEqual(q8WeightSums(q.data, n, kk));
  const dx = dequantizeActivations(act, mm, kk);
  return { k, m, args, x, wf, bias, dx, dw: dequantizeQ8(q, n, kk), xs: act.scales, ws: q.scales };
}

describe.each(BUILDS)("q8 GEMM/GEMV ($name build)", ({ name: build, module }) => {
  const GEMM = namesOf("q8_f32", "gemm", build);
  const GEMV = namesOf("q8_f32", "gemv", build);
  it.each(SHAPES.flatMap((s) => [[...s, false] as const, [...s, true] as const]))(
    "M=%i N=%i K=%i bias=%s: variants bit-identical, within budget of float64",
    async (mm, n, kk, withBias) => {
      const r = rng(mm * 1000 + n * 10 + kk);
      const x = uniform(r, mm * kk, 3);
      const wf = uniform(r, n * kk, 0.2);
      const bias = withBias ? uniform(r, n, 1) : null;
      const p = await problem(module, x, wf, bias, [mm, n, kk]);
      const ref = runGemm(p, GEMM[0], mm, n, kk);
      for (const name of GEMM) expect(runGemm(p, name, mm, n, kk), name).toEqual(ref);
      for (const name of GEMV) expect(runGemvRow0(p, name, n, kk), name).toEqual(ref.subarray(0, n));

      const exact = matmulF64(p.dx, p.dw, mm, n, kk, bias);
      const scale = absMatmul(p.dx, p.dw, mm, n, kk);
      const truth = matmulF64(x, wf, mm, n, kk, bias);
      for (let i = 0; i < mm; i++) {
        for (let c = 0; c < n; c++) {
          const o = i * n + c;
          const b = bias ? Math.abs(bias[c]) : 0;
          expect(Math.abs(ref[o] - exact[o])).toBeLessThanOrEqual(Q8_OUT_REL_ERR * (scale[o] + b) + 1e-37);
          let quantErr = 0;
          for (let t = 0; t < kk; t++) {
            quantErr +=
              HALF_STEP * (p.xs[i] * Math.abs(wf[c * kk + t]) + p.ws[c] * Math.abs(p.dx[i * kk + t]));
          }
          expect(Math.abs(ref[o] - truth[o])).toBeLessThanOrEqual(
            quantErr + Q8_OUT_REL_ERR * (scale[o] + b) + 1e-6,
          );
        }
      }
    },
  );

  it("all-zero activation rows and weight rows give the bias exactly", async () => {
    const [mm, n, kk] = [5, 6, 40];
    const r = rng(7);
    const x = uniform(r, mm * kk);
    x.fill(0, 1 * kk, 2 * kk);
    const wf = uniform(r, n * kk);
    wf.fill(0, 2 * kk, 3 * kk);
    const bias = uniform(r, n);
    const p = await problem(module, x, wf, bias, [mm, n, kk]);
    expect(p.xs[1]).toBe(1);
    expect(p.ws[2]).toBe(1);
    for (const name of GEMM) {
      const y = runGemm(p, name, mm, n, kk);
      for (let c = 0; c < n; c++) expect(y[1 * n + c]).toBe(bias[c]);
      for (let i = 0; i < mm; i++) expect(y[i * n + 2]).toBe(bias[2]);
    }
  });

  it("max-magnitude codes (w = +-127, xq = 1 or 127) over K = 1000 stay exact", async () => {
    const [mm, n, kk] = [3, 5, 1000];
    const r = rng(11);
    const x = Float32Array.from({ length: mm * kk }, () => (r() < 0.5 ? -1 : 1));
    const wf = Float32Array.from({ length: n * kk }, (_, i) => (i % 7 === 0 ? -1 : 1));
    const p = await problem(module, x, wf, null, [mm, n, kk]);
    const xq = new Uint8Array(p.k.memory.buffer, p.args[0], 32);
    expect([...xq].every((v) => v === 1 || v === 127)).toBe(true);
    const exact = matmulF64(p.dx, p.dw, mm, n, kk, null);
    const ref = runGemm(p, GEMM[0], mm, n, kk);
    for (const name of GEMM) expect(runGemm(p, name, mm, n, kk), name).toEqual(ref);
    for (let o = 0; o < mm * n; o++) {
      expect(Math.abs(ref[o] - exact[o])).toBeLessThanOrEqual(Q8_OUT_REL_ERR * Math.abs(exact[o]));
    }
  });

  it("the zero point is 64 and padding bytes are neutral", async () => {
    const p = await problem(module, new Float32Array([0, 0, 0]), new Float32Array(3), null, [1, 1, 3]);
    expect([...new Uint8Array(p.k.memory.buffer, p.args[0], 32)]).toEqual(new Array(32).fill(ACT_ZERO));
  });

  it("relaxed kernels are usable only in the relaxed build", async () => {
    const k = await loadBuild(module);
    if (k.relaxedSimd) return;
    expect(() => k.exports.q8_f32_gemm_2x4__relaxed(0, 0, 0, 0, 0, 0, 0, 1, 1, 1)).toThrow();
    expect(() => k.exports.q8_f32_gemv_1x8__relaxed(0, 0, 0, 0, 0, 0, 0, 1, 1)).toThrow();
    expect(() => k.exports.q8_f32_gemm_2x4__relaxed_split(0, 0, 0, 0, 0, 0, 0, 1, 1, 1)).toThrow();
    expect(() => k.exports.q8_f32_gemv_1x8__relaxed_split(0, 0, 0, 0, 0, 0, 0, 1, 1)).toThrow();
  });
});
