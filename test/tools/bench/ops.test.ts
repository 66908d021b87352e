// The ops benchmark (tools/bench/ops.ts): every op row of the kernel table it names runs on the operands it
// lays out (a wrong layout traps or writes past them), and the report's figures follow from the times.
import { describe, expect, it } from "vitest";
import { KERNELS, kernelName } from "../../../wasm/kernels";
import { BUILDS, loadBuild } from "../../helpers/kernels";
import { runOps, type OpShapes } from "../../../tools/bench/ops";

// the served model's dimensions, smaller rows: 36 visual, 44 in the text prefill
const SHAPES: OpShapes = {
  vision: { rows: 36, hidden: 128, intermediate: 512, heads: 4 },
  text: { rows: 44, hidden: 192, intermediate: 512, heads: 4, kvHeads: 2 },
};
const OPS = ["add", "rmsnorm", "layernorm", "softmax", "gelu", "swiglu", "attention", "act_quantize"];

/** Cases of the op rows: attention runs twice (vision, text), every other op once. */
const caseCount = () =>
  KERNELS.filter((r) => OPS.includes(r.op)).reduce((n, r) => n + (r.op === "attention" ? 2 : 1), 0);

describe("runOps", () => {
  it("runs every variant of the benchmarked ops once per shape, in its build, and reports per value", async () => {
    const [relaxed, simd] = await Promise.all(BUILDS.map((b) => loadBuild(b.module)));
    const calls: string[] = [];
    const results = await runOps({ relaxed, simd }, SHAPES, async (fn, share) => {
      fn();
      calls.push(String(share));
      return 1e-3; // 1 ms a call
    });
    const rows = KERNELS.filter((r) => OPS.includes(r.op));
    expect(results.length).toBe(caseCount());
    expect(new Set(results.map((r) => r.name))).toEqual(new Set(rows.map(kernelName)));
    for (const r of results) expect(r.us).toBeCloseTo(1000, 6);
    const gelu = results.find((r) => r.name === "f32_gelu__simd")!;
    expect(gelu.shape).toBe("vision 36x512");
    expect(gelu.ns_per_value).toBeCloseTo(1e6 / (36 * 512), 6);
    const causal = results.find((r) => r.name === "f32_attention__simd" && r.shape.startsWith("text"))!;
    expect(causal.shape).toBe("text 44x44 h4/2 d48");
    expect(causal.ns_per_value).toBeCloseTo(1e6 / (((44 * 45) / 2) * 4), 6);
    // scalar rows get a quarter of the time; the scalar attention has two shapes
    expect(calls.filter((c) => c === "0.25").length).toBe(rows.filter((r) => r.isa === "scalar").length + 1);
  });

  it("lets every kernel write its output: each timed call changes linear memory", async () => {
    const [relaxed, simd] = await Promise.all(BUILDS.map((b) => loadBuild(b.module)));
    const changed: number[] = [];
    await runOps({ relaxed, simd }, SHAPES, async (fn) => {
      const mems = [relaxed, simd].map((k) => new Uint8Array(k.memory.buffer).slice());
      fn();
      changed.push(
        [relaxed, simd].reduce((n, k, j) => {
          const now = new Uint8Array(k.memory.buffer);
          let d = 0;
          for (let i = 0; i < mems[j].length; i++) if (mems[j][i] !== now[i]) d++;
          return n + d;
        }, 0),
      );
      return 1e-3;
    });
    expect(changed.length).toBe(caseCount());
    expect(changed.filter((n) => n === 0)).toEqual([]);
  });
});
