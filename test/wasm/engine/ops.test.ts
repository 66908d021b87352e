// Ops.linear's sameInput (wasm/engine/ops.ts): q, k and v (gate and up) of one input reuse its 7-bit
// activations. The output must be the one a fresh quantization gives, bit for bit, and a call that claims
// the previous input for another one must fail instead of computing from stale activations.
import { describe, expect, it } from "vitest";
import { arena, BUILDS, loadBuild, rng } from "../../helpers/kernels";
import { Ops, SAME_INPUT, type LinearWeight } from "../../../wasm/engine/ops";
import { actStride, q8WeightSums, quantizeQ8 } from "../../../wasm/quant";

const uniform = (r: () => number, n: number) => Array.from({ length: n }, () => r() * 2 - 1);

describe.each(BUILDS)("Ops.linear sameInput ($name build)", ({ module }) => {
  it("reuses the quantized input bit for bit, and refuses another input", async () => {
    const k = await loadBuild(module, 1 << 22);
    const a = arena(k);
    const [m, kk] = [5, 40];
    const r = rng(3);
    const weight = (name: string, n: number): LinearWeight => {
      const q = quantizeQ8(uniform(r, n * kk), n, kk);
      const data = a.i8(q.data);
      return {
        name,
        dtype: "q8",
        n,
        k: kk,
        data,
        scales: a.f32(q.scales),
        wsum: a.put(q8WeightSums(q.data, n, kk)),
      };
    };
    const scratch = { xq: a.alloc(m * actStride(kk)), xs: a.f32(m), aux: a.alloc(4 * m * 8) };
    const ops = new Ops(k, scratch);
    const [wq, wk] = [weight("q", 12), weight("k", 7)];
    const x = a.f32(uniform(r, m * kk));
    const other = a.f32(uniform(r, m * kk));
    const [yq, yk, fresh] = [a.f32(m * 12), a.f32(m * 7), a.f32(m * 7)];
    ops.linear(x, wk, 0, fresh, m);
    ops.linear(x, wq, 0, yq, m);
    ops.linear(x, wk, 0, yk, m, SAME_INPUT);
    expect(a.readF32(yk, m * 7)).toEqual(a.readF32(fresh, m * 7));
    // the scratch now holds x's activations: claiming them for another input (or other rows) throws
    expect(() => ops.linear(other, wk, 0, yk, m, SAME_INPUT)).toThrow(/another input/);
    expect(() => ops.linear(x, wk, 0, yk, m - 1, SAME_INPUT)).toThrow(/another input/);
    // and a claim after another input was quantized compares against that one
    ops.linear(other, wq, 0, yq, m);
    expect(() => ops.linear(x, wk, 0, yk, m, SAME_INPUT)).toThrow(/another input/);
  });
});
