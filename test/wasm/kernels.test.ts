// The kernel table (wasm/kernels.ts) against the built modules: every row is exported under its name by
// both builds and nothing else is, every op has a scalar reference and one signature, and the engine's
// choice (bestKernel) is the best ISA each build can run on this host (isaRank: the split int8 dot where
// the fused one is emulated).
import { describe, expect, it } from "vitest";
import {
  bestKernel,
  isaRank,
  ISAS,
  kernelName,
  KERNELS,
  kernelVariants,
  rdotLowering,
} from "../../wasm/kernels";
import { BUILDS, loadBuild } from "../helpers/kernels";

const NAME = /^[a-z0-9]+(_[a-z0-9]+)*(_\d+x\d+)?__(scalar|simd|relaxed|relaxed_split)$/;

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
    const want = [...KERNELS.map(kernelName), "build_features", "heap_base", "rdot_probe", "memory"];
    expect([...exported].sort()).toEqual([...want].sort());
  });

  it("runs the best ISA it has for every op", async () => {
    const k = await loadBuild(module);
    expect(k.relaxedSimd).toBe(name === "relaxed");
    expect(k.build).toBe(name);
    for (const r of KERNELS) {
      const variants = kernelVariants(k, r.dtype, r.op);
      expect(variants[0].isa).toBe("scalar");
      const best = bestKernel(k, r.dtype, r.op, r.sig);
      const rank = (isa: (typeof ISAS)[number]) => isaRank(isa, k.int8Dot);
      const top = Math.max(...variants.map((v) => rank(v.isa)));
      expect(best.name).toBe(kernelName(variants.find((v) => rank(v.isa) === top)!));
      if (name === "simd") expect(best.name).not.toMatch(/__relaxed/);
      expect(typeof best.fn).toBe("function");
    }
    // the q8 GEMM: the fused dot where V8 has it, the split one where it emulates it (this host's class)
    const want = { fused: "__relaxed", emulated: "__relaxed_split", none: "__simd" }[k.int8Dot];
    expect(k.int8Dot).toBe(rdotLowering(k));
    expect(bestKernel(k, "q8_f32", "gemm", "qgemm").name).toBe(`q8_f32_gemm_2x4${want}`);
    expect(bestKernel(k, "q8_f32", "gemv", "qgemv").name).toBe(`q8_f32_gemv_1x8${want}`);
    expect(() => bestKernel(k, "q8_f32", "gemm", "qgemv")).toThrow(/signature/);
  });
});

// How the engine runs the fused int8 dot, read from its answer on bytes outside the 7-bit range: each
// known lowering gives its own pair (probe(0), probe(1)), and the classification follows the pair.
const LOWERINGS: Record<string, [number, number]> = {
  emulated: [-512, -65536], // pmaddubsw + pmaddwd: 255 x -128 saturates per pair of bytes
  vpdpbusd: [-512, -130560], // AVX-VNNI: u8 x s8 summed exactly
  sdot: [512, 512], // a signed 8-bit dot (Arm): -1 x -128
};

describe("isaRank", () => {
  it("orders the ISAs as listed, except that the split int8 dot goes first where the fused one is emulated", () => {
    const order = (d: "fused" | "emulated" | "none") =>
      [...ISAS].sort((a, b) => isaRank(b, d) - isaRank(a, d)).join(" > ");
    expect(order("fused")).toBe("relaxed > relaxed_split > simd > scalar");
    expect(order("none")).toBe("relaxed > relaxed_split > simd > scalar");
    expect(order("emulated")).toBe("relaxed_split > relaxed > simd > scalar");
  });
});

describe("rdot_probe", () => {
  it("answers as one of the known lowerings, and rdotLowering names it", async () => {
    const k = await loadBuild(BUILDS.find((b) => b.name === "relaxed")!.module);
    const pair: [number, number] = [k.exports.rdot_probe(0), k.exports.rdot_probe(1)];
    const known = Object.entries(LOWERINGS).find(([, p]) => p[0] === pair[0] && p[1] === pair[1]);
    expect(known, `probe answered ${pair}`).toBeDefined();
    expect(rdotLowering(k)).toBe(known![0] === "emulated" ? "emulated" : "fused");
  });

  it("says emulated on an x64 CPU without VNNI (Node, where /proc/cpuinfo is readable)", async (ctx) => {
    const cpuinfo = await readCpuinfo();
    if (cpuinfo === null || !/^flags\s*:.*\bsse2\b/m.test(cpuinfo)) return ctx.skip();
    if (/\bavx_vnni\b|\bavx512_vnni\b/.test(cpuinfo)) return ctx.skip(); // V8 may or may not use it
    const k = await loadBuild(BUILDS.find((b) => b.name === "relaxed")!.module);
    expect(rdotLowering(k)).toBe("emulated");
  });

  it("is none in the plain-SIMD build", async () => {
    const k = await loadBuild(BUILDS.find((b) => b.name === "simd")!.module);
    expect(k.exports.rdot_probe(1)).toBe(0);
    expect(rdotLowering(k)).toBe("none");
  });
});

/** /proc/cpuinfo where this runtime can read it (Node on Linux), else null (workerd). */
async function readCpuinfo(): Promise<string | null> {
  if (
    typeof process === "undefined" ||
    !process.versions?.node ||
    navigator.userAgent === "Cloudflare-Workers"
  )
    return null;
  try {
    const { readFileSync } = await import("node:fs");
    return readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return null;
  }
}
