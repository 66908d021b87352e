import { describe, expect, it } from "vitest";
import { arena, BUILDS, loadBuild, namesOf, rng } from "../../helpers/kernels";
import {
  dequantizeActivations,
  dequantizeQ4,
  q4Blocks,
  q4Groups,
  Q4_GROUP,
  quantizeActivations,
  quantizeQ4,
} from "../../../wasm/quant";
import { absMatmul, matmulF64, runGemm, runGemvRow0, SHAPES, uniform, type QProblem } from "./harness";

// Each group's integer dot is exact; per group the f32 path rounds s_w * f32(dot) and the running sum,
// then s_x and the bias: ~(2 * KG + 2) roundings of 2^-24 relative to sum |x w|; one spare per group.
const q4OutRelErr = (kg: number) => (3 * kg + 3) * 2 ** -24;
// Rounding to the grid moves x by at most s_x / 2 and w by at most its group scale / 2 (+ f32 slack).
const HALF_STEP = 0.5 + 1e-4;

interface Problem extends QProblem {
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
  const q = quantizeQ4(wf, n, kk);
  const scratch = m.alloc(mm * q4Groups(kk) * 4);
  const args: Problem["args"] = [
    m.put(act.xq),
    m.put(act.scales),
    m.put(q.data),
    m.put(q.scales),
    scratch,
    m.put(bias),
  ];
  return {
    k,
    m,
    args,
    dx: dequantizeActivations(act, mm, kk),
    dw: dequantizeQ4(q, n, kk),
    xs: act.scales,
    ws: q.scales,
  };
}

describe.each(BUILDS)("q4 GEMM/GEMV ($name build)", ({ name: build, module }) => {
  const GEMM = namesOf("q4_f32", "gemm", build);
  const GEMV = namesOf("q4_f32", "gemv", build);
  it.each(SHAPES.flatMap((s) => [[...s, false] as const, [...s, true] as const]))(
    "M=%i N=%i K=%i bias=%s: variants bit-identical, within budget of float64",
    async (mm, n, kk, withBias) => {
      const r = rng(mm * 1000 + n * 10 + kk + 5);
      const x = uniform(r, mm * kk, 2);
      const wf = uniform(r, n * kk, 0.3);
      const bias = withBias ? uniform(r, n, 1) : null;
      const p = await problem(module, x, wf, bias, [mm, n, kk]);
      const ref = runGemm(p, GEMM[0], mm, n, kk);
      for (const name of GEMM) expect(runGemm(p, name, mm, n, kk), name).toEqual(ref);
      for (const name of GEMV) expect(runGemvRow0(p, name, n, kk), name).toEqual(ref.subarray(0, n));

      const kg = q4Groups(kk);
      const exact = matmulF64(p.dx, p.dw, mm, n, kk, bias);
      const scale = absMatmul(p.dx, p.dw, mm, n, kk);
      const truth = matmulF64(x, wf, mm, n, kk, bias);
      for (let i = 0; i < mm; i++) {
        for (let c = 0; c < n; c++) {
          const o = i * n + c;
          const b = bias ? Math.abs(bias[c]) : 0;
          const rounding = q4OutRelErr(kg) * (scale[o] + b) + 1e-37;
          expect(Math.abs(ref[o] - exact[o])).toBeLessThanOrEqual(rounding);
          let quantErr = 0;
          for (let t = 0; t < kk; t++) {
            const sw = p.ws[c * kg + Math.floor(t / Q4_GROUP)];
            quantErr += HALF_STEP * (p.xs[i] * Math.abs(wf[c * kk + t]) + sw * Math.abs(p.dx[i * kk + t]));
          }
          expect(Math.abs(ref[o] - truth[o])).toBeLessThanOrEqual(quantErr + rounding + 1e-6);
        }
      }
    },
  );

  it("every nibble (codes -8..7, raw bytes 0x00..0xff) against extreme activations", async () => {
    const [mm, n, kk] = [3, 13, 96]; // 13 channels: the GEMV's 1x8 tile and its 1x4 tail
    const r = rng(21);
    const x = Float32Array.from({ length: mm * kk }, () => (r() < 0.5 ? -1 : 1));
    const p = await problem(module, x, new Float32Array(n * kk), null, [mm, n, kk]);
    const kb = q4Blocks(kk);
    const data = Uint8Array.from({ length: n * kb * 16 }, (_, i) => (i < 256 ? i : Math.floor(r() * 256)));
    const scales = Float32Array.from({ length: n * q4Groups(kk) }, () => 0.01 + r());
    new Uint8Array(p.k.memory.buffer, p.args[2], data.length).set(data);
    new Float32Array(p.k.memory.buffer, p.args[3], scales.length).set(scales);
    const ref = runGemm(p, GEMM[0], mm, n, kk);
    for (const name of GEMM) expect(runGemm(p, name, mm, n, kk), name).toEqual(ref);
    for (const name of GEMV) expect(runGemvRow0(p, name, n, kk), name).toEqual(ref.subarray(0, n));
    const dw = dequantizeQ4({ data, scales }, n, kk);
    const exact = matmulF64(p.dx, dw, mm, n, kk, null);
    const scale = absMatmul(p.dx, dw, mm, n, kk);
    for (let o = 0; o < mm * n; o++) {
      expect(Math.abs(ref[o] - exact[o])).toBeLessThanOrEqual(q4OutRelErr(q4Groups(kk)) * scale[o]);
    }
  });

  it("all-zero rows give the bias; codes at +-7 and activations at 1 / 127 stay exact", async () => {
    const [mm, n, kk] = [5, 6, 200];
    const r = rng(3);
    const x = Float32Array.from({ length: mm * kk }, () => (r() < 0.5 ? -1 : 1));
    x.fill(0, 2 * kk, 3 * kk);
    const wf = Float32Array.from({ length: n * kk }, (_, i) => (i % 3 === 0 ? -8 / 7 : 1));
    wf.fill(0, 4 * kk, 5 * kk);
    const bias = uniform(r, n);
    const p = await problem(module, x, wf, bias, [mm, n, kk]);
    const ref = runGemm(p, GEMM[0], mm, n, kk);
    for (const name of GEMM) {
      const y = runGemm(p, name, mm, n, kk);
      expect(y, name).toEqual(ref);
      for (let c = 0; c < n; c++) expect(y[2 * n + c]).toBe(bias[c]);
      for (let i = 0; i < mm; i++) expect(y[i * n + 4]).toBe(bias[4]);
    }
    const exact = matmulF64(p.dx, p.dw, mm, n, kk, bias);
    const scale = absMatmul(p.dx, p.dw, mm, n, kk);
    for (let o = 0; o < mm * n; o++) {
      expect(Math.abs(ref[o] - exact[o])).toBeLessThanOrEqual(q4OutRelErr(q4Groups(kk)) * (scale[o] + 1));
    }
  });

  it("rows longer than the GEMM's weight tile (K > 16384) take the row path, bit-identical", async () => {
    const [mm, n, kk] = [3, 5, 16400];
    const r = rng(77);
    const x = uniform(r, mm * kk, 2);
    const wf = uniform(r, n * kk, 0.3);
    const p = await problem(module, x, wf, uniform(r, n, 1), [mm, n, kk]);
    const ref = runGemm(p, GEMM[0], mm, n, kk);
    for (const name of GEMM) expect(runGemm(p, name, mm, n, kk), name).toEqual(ref);
    for (const name of GEMV) expect(runGemvRow0(p, name, n, kk), name).toEqual(ref.subarray(0, n));
  });

  it("relaxed kernels are usable only in the relaxed build", async () => {
    const k = await loadBuild(module);
    if (k.relaxedSimd) return;
    expect(() => k.exports.q4_f32_gemm_2x4__relaxed(0, 0, 0, 0, 0, 0, 0, 1, 1, 1)).toThrow();
    expect(() => k.exports.q4_f32_gemv_1x8__relaxed(0, 0, 0, 0, 0, 0, 0, 1, 1)).toThrow();
  });
});
