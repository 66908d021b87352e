// argmax and top-k (assembly/ops/select.ts): every variant must return exactly what a plain JS
// reference returns: ties to the lowest index, NaN ignored, values in descending order.
import { describe, expect, it } from "vitest";
import { arena, BUILDS, isasOf, kernelOf, loadBuild, rng } from "../../helpers/kernels";
import { uniform } from "./reference";

/** Reference top-k: stable sort of the non-NaN entries by value, descending (ties: lower index first). */
function topk(x: number[], k: number): { idx: number[]; val: number[] } {
  const order = x
    .map((v, i) => ({ v, i }))
    .filter(({ v }) => !Number.isNaN(v))
    .sort((a, b) => (b.v > a.v ? 1 : b.v < a.v ? -1 : a.i - b.i))
    .slice(0, Math.max(k, 0));
  return { idx: order.map((o) => o.i), val: order.map((o) => o.v) };
}
const argmax = (x: number[]) => (x.length === 0 ? 0 : (topk(x, 1).idx[0] ?? 0));

/** Random vectors with many ties (values from a small set) or continuous values. */
function vector(seed: number, n: number, ties: boolean): number[] {
  const r = rng(seed);
  return ties
    ? Array.from({ length: n }, () => Math.floor(r() * 5) - 2)
    : uniform(r, n, -5, 5).map(Math.fround);
}

const CASES = [0, 1, 2, 3, 4, 5, 15, 16, 17, 64, 257, 1000].flatMap((n) => [
  { n, ties: false },
  { n, ties: true },
]);

describe.each(BUILDS)("f32 argmax / top-k ($name build)", ({ name: build, module }) => {
  const ARGMAX = isasOf("f32", "argmax", build);
  const TOPK = isasOf("f32", "topk", build);
  it.each(CASES)("argmax n=$n ties=$ties", async ({ n, ties }) => {
    const k = await loadBuild(module);
    const a = arena(k);
    const x = vector(n * 3 + (ties ? 1 : 0), n, ties);
    const p = a.f32(x);
    for (const isa of ARGMAX) expect(kernelOf(k, "f32", "argmax", isa, "argmax")(p, n)).toBe(argmax(x));
  });

  it.each([
    { name: "max in the tail", x: [1, 2, 3, 4, 5, 6, 7, 8, 9] },
    { name: "equal max in every lane", x: [0, 7, 7, 7, 7, 7, 7, 7, 7, 7] },
    { name: "all -inf", x: [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity] },
    { name: "NaN ignored", x: [NaN, 1, NaN, 3, NaN, NaN, 3, NaN, NaN] },
    { name: "all NaN", x: [NaN, NaN, NaN, NaN, NaN, NaN] },
    { name: "-0 ties +0", x: [-1, -0, 0, -2, 0, -0] },
    { name: "+inf", x: [3e38, Infinity, 1, Infinity, 3] },
  ])("argmax special values: $name", async ({ x }) => {
    const k = await loadBuild(module);
    const p = arena(k).f32(x);
    for (const isa of ARGMAX)
      expect(kernelOf(k, "f32", "argmax", isa, "argmax")(p, x.length)).toBe(argmax(x));
  });

  it.each(CASES.flatMap((c) => [1, 3, 8, 64].map((kk) => ({ ...c, kk }))))(
    "top-k n=$n k=$kk ties=$ties",
    async ({ n, kk, ties }) => {
      const k = await loadBuild(module);
      const a = arena(k);
      const x = vector(n * 5 + kk + (ties ? 1 : 0), n, ties);
      const p = a.f32(x);
      const ref = topk(x, kk);
      for (const isa of TOPK) {
        const idx = a.alloc(4 * kk);
        const val = a.f32(kk);
        const cnt = kernelOf(k, "f32", "topk", isa, "topk")(p, n, kk, idx, val);
        expect(cnt).toBe(ref.idx.length);
        expect(Array.from(new Int32Array(k.memory.buffer, idx, cnt))).toEqual(ref.idx);
        expect(Array.from(a.readF32(val, cnt))).toEqual(ref.val);
      }
    },
  );

  it("top-k special values: NaN skipped, -inf kept, ascending input (worst case)", async () => {
    const k = await loadBuild(module);
    const a = arena(k);
    const x = [
      NaN,
      -Infinity,
      2,
      NaN,
      2,
      Infinity,
      -Infinity,
      ...Array.from({ length: 40 }, (_, i) => i / 4),
    ];
    const p = a.f32(x);
    for (const kk of [0, 2, 5, 100]) {
      const ref = topk(x, kk);
      for (const isa of TOPK) {
        const idx = a.alloc(4 * Math.max(kk, 1));
        const val = a.f32(Math.max(kk, 1));
        const cnt = kernelOf(k, "f32", "topk", isa, "topk")(p, x.length, kk, idx, val);
        expect(cnt).toBe(ref.idx.length);
        expect(Array.from(new Int32Array(k.memory.buffer, idx, cnt))).toEqual(ref.idx);
        expect(Array.from(a.readF32(val, cnt))).toEqual(ref.val);
      }
    }
  });
});
