// The kernel table (wasm/kernels.ts) against the built modules: every row is exported under its name by
// both builds and nothing else is, every op has a scalar reference and one signature, and the engine's
// choice (bestKernel) is the best ISA each build can run.
import { describe, expect, it } from "vitest";
import { bestKernel, ISAS, kernelName, KERNELS, kernelVariants } from "../../wasm/kernels";
import { BUILDS, loadBuild } from "../helpers/kernels";

const NAME = /^[a-z0-9]+(_[a-z0-9]+)*(_\d+x\d+)?__(scalar|simd|relaxed)$/;

describe("the kernel table", () => {
  it("names every row <dtype>_<op>[_<tile>]__<isa>, once", () => {
    const names = KERNELS.map(kernelName);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(NAME);
  });

  it("gives every op a scalar reference and one signature", () => {
    const ops = new Map<string, Set<string>>();
    for (const r of KERNELS)
      ops.set(`${r.dtype}_${r.op}`, (ops.get(`${r.dtype}_${r.op}`) ?? new Set()).add(r.sig));
    for (const [op, sigs] of ops) {
      expect(sigs.size, op).toBe(1);
      expect(
        KERNELS.some((r) => `${r.dtype}_${r.op}` === op && r.isa === "scalar"),
        op,
      ).toBe(true);
    }
  });
});

describe.each(BUILDS)("the $name build", ({ name, module }) => {
  it("exports exactly the table's rows (plus memory and the build facts)", () => {
    const exported = WebAssembly.Module.exports(module).map((e) => e.name);
    const want = [...KERNELS.map(kernelName), "build_features", "heap_base", "memory"];
    expect([...exported].sort()).toEqual([...want].sort());
  });

  it("runs the best ISA it has for every op", async () => {
    const k = await loadBuild(module);
    expect(k.relaxedSimd).toBe(name === "relaxed");
    for (const r of KERNELS) {
      const variants = kernelVariants(k, r.dtype, r.op);
      expect(variants[0].isa).toBe("scalar");
      const best = bestKernel(k, r.dtype, r.op, r.sig);
      const top = Math.max(...variants.map((v) => ISAS.indexOf(v.isa)));
      expect(best.name).toBe(kernelName(variants.find((v) => ISAS.indexOf(v.isa) === top)!));
      if (name === "simd") expect(best.name.endsWith("__relaxed")).toBe(false);
      expect(typeof best.fn).toBe("function");
    }
    expect(bestKernel(k, "q8_f32", "gemm", "qgemm").name).toBe(
      name === "relaxed" ? "q8_f32_gemm_2x4__relaxed" : "q8_f32_gemm_2x4__simd",
    );
    expect(() => bestKernel(k, "q8_f32", "gemm", "qgemv")).toThrow(/signature/);
  });
});
