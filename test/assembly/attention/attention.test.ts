// Attention (assembly/attention/): scalar and SIMD kernels against a float64 reference that masks by
// explicit token positions, for MHA and GQA, decode (mq = 1) and prefill, a pruned cache, the vision
// encoder's unmasked form, strided (fused-projection) layouts and head sizes with tails; plus the
// probability capture: equal to the reference head-mean softmax, rows summing to 1, masked keys exactly
// 0, no effect on the output, and the same without values (v = 0, the probabilities-only call).
import { describe, expect, it } from "vitest";
import { arena, BUILDS, isasOf, kernelOf, loadBuild, rng } from "../../helpers/kernels";
import type { Isa, Kernels } from "../../../wasm/kernels";
import { U, expectWithin, uniform } from "../ops/reference";
import { attention64, headMean, type AttnShape } from "./reference";

// Budgets for q, k, v in [-1, 1]. Rounding errors of an n-term f32 sum grow like sqrt(n) * u in practice
// (Higham 2002, sec. 2.8; the worst case n * u is ~30x looser here and would hide real bugs), so a score
// scale * q.k carries ~sqrt(d) * u * scale * sum|q k| <= ~3 sqrt(d) * u; s_j - max carries two of those;
// exp adds 4u (math.ts), the sum over nk keys ~sqrt(nk) * u, 1/sum and the products 3u: that is each
// probability's relative error. The output sums nk products of |v| <= 1 (another sqrt(nk) * u); the
// captured head mean adds hq * u. Measured: <= 0.06 of these budgets.
const probRel = (s: AttnShape) => (6 * Math.sqrt(s.d) + 2 * Math.sqrt(s.cacheLen) + 8) * U;
const ATTN_ABS = (s: AttnShape) => probRel(s) + (Math.sqrt(s.cacheLen) + 1) * U;
const CAPTURE_REL = (s: AttnShape) => probRel(s) + s.hq * U;

interface Case {
  name: string;
  shape: AttnShape;
  causal: boolean;
  keyPos: number[] | null; // original positions of the cache rows (null: unmasked)
  capRows: number[];
  /** Per-key score bias (log sizes of merged tokens), or none. */
  bias?: boolean;
}

function contiguous(mq: number, hq: number, hkv: number, d: number, cacheLen: number): AttnShape {
  return { mq, hq, hkv, d, cacheLen, ldQ: hq * d, ldKv: hkv * d, ldO: hq * d };
}
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

/** A pruned cache: cacheLen increasing positions drawn from 0..span-1. */
function prunedPositions(seed: number, cacheLen: number, span: number): number[] {
  const r = rng(seed);
  const all = range(span);
  for (let i = span - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, cacheLen).sort((a, b) => a - b);
}

const CASES: Case[] = [
  { name: "MHA decode", shape: contiguous(1, 4, 4, 32, 37), causal: true, keyPos: range(37), capRows: [0] },
  {
    name: "GQA prefill over a pruned cache",
    shape: contiguous(9, 6, 2, 64, 20),
    causal: true,
    keyPos: prunedPositions(1, 20, 41),
    capRows: [8, 0, 3, 99],
  },
  {
    name: "GQA prefill over a pruned, merged cache (per-key bias)",
    shape: contiguous(9, 6, 2, 64, 21),
    causal: true,
    keyPos: prunedPositions(3, 21, 41),
    capRows: [8, 0],
    bias: true,
  },
  {
    name: "GQA decode with per-key bias, d=34",
    shape: contiguous(1, 4, 2, 34, 19),
    causal: true,
    keyPos: range(19),
    capRows: [0],
    bias: true,
  },
  {
    name: "GQA decode, pruned",
    shape: contiguous(1, 8, 2, 32, 23),
    causal: true,
    keyPos: prunedPositions(2, 23, 170),
    capRows: [0],
  },
  {
    name: "vision (unmasked)",
    shape: contiguous(13, 3, 3, 36, 13),
    causal: false,
    keyPos: null,
    capRows: [0, 12],
  },
  {
    name: "strided fused layout, d=34",
    shape: { mq: 5, hq: 2, hkv: 1, d: 34, cacheLen: 7, ldQ: 4 * 34 + 3, ldKv: 34 + 5, ldO: 2 * 34 + 1 },
    causal: true,
    keyPos: range(7),
    capRows: [4, 2],
  },
  { name: "tiny heads, d=3", shape: contiguous(3, 2, 2, 3, 6), causal: true, keyPos: range(6), capRows: [1] },
  {
    // ascending rows (the engine's order: the SIMD kernels walk them with a cursor), a row listed twice,
    // rows paired and unpaired (mq odd), and rows outside 0..mq-1 (left zero)
    name: "ascending capture rows with a repeat, odd mq",
    shape: contiguous(11, 4, 2, 48, 30),
    causal: true,
    keyPos: prunedPositions(4, 30, 60),
    capRows: [-1, 0, 3, 4, 4, 5, 10, 11],
  },
];

/** log(size) per key: most keys stand for one token, some for 2..9 (what merging leaves). */
const biasOf = (n: number, seed: number) => {
  const r = rng(seed);
  return range(n).map(() => (r() < 0.6 ? 0 : Math.log(2 + Math.floor(r() * 8))));
};

function run(
  k: Kernels,
  isa: Isa,
  c: Case,
  data: number[][],
  capture: boolean,
  bias: number[] | null = null,
  probsOnly = false,
) {
  const a = arena(k);
  const s = c.shape;
  const [q, kk, v] = data.map((x) => a.f32(x));
  const biasPtr = bias ? a.f32(bias) : 0;
  const outLen = s.mq * s.ldO;
  const out = a.f32(new Array<number>(outLen).fill(7)); // padding sentinel
  const scores = a.f32(2 * s.cacheLen); // two rows of scratch (the kernel contract)
  const rows = capture ? c.capRows : [];
  const rowsPtr = a.alloc(4 * Math.max(rows.length, 1));
  new Int32Array(k.memory.buffer, rowsPtr, rows.length).set(rows);
  const cap = a.f32(new Array<number>(Math.max(rows.length, 1) * s.cacheLen).fill(5));
  kernelOf(
    k,
    "f32",
    "attention",
    isa,
    "attention",
  )(
    ...[q, s.ldQ, kk, probsOnly ? 0 : v, s.ldKv, out, s.ldO, s.mq, s.hq, s.hkv, s.d, s.cacheLen],
    ...[c.causal ? 1 : 0, biasPtr],
    ...[scores, rowsPtr, rows.length, cap],
  );
  const raw = a.readF32(out, outLen);
  const compact = range(s.mq).flatMap((i) => Array.from(raw.slice(i * s.ldO, i * s.ldO + s.hq * s.d)));
  const padding = range(s.mq).flatMap((i) => Array.from(raw.slice(i * s.ldO + s.hq * s.d, (i + 1) * s.ldO)));
  return { out: compact, padding, cap: a.readF32(cap, rows.length * s.cacheLen) };
}

describe.each(BUILDS)("f32_attention ($name build)", ({ name: build, module }) => {
  /** The table's variants this build runs (the relaxed_madd one only where relaxed SIMD is compiled in). */
  const ISAS = isasOf("f32", "attention", build);
  it.each(CASES)("$name", async (c) => {
    const k = await loadBuild(module);
    const s = c.shape;
    const r = rng(s.mq * 100 + s.d);
    const data = [uniform(r, s.mq * s.ldQ), uniform(r, s.cacheLen * s.ldKv), uniform(r, s.cacheLen * s.ldKv)];
    const pos = c.keyPos && { keyPos: c.keyPos, queryPos: c.keyPos.slice(-s.mq) };
    const bias = c.bias ? biasOf(s.cacheLen, s.d) : null;
    const ref = attention64(data[0], data[1], data[2], s, pos, bias);
    const refCap = headMean(ref.probs, c.capRows, s.cacheLen);
    for (const isa of ISAS) {
      const got = run(k, isa, c, data, true, bias);
      expectWithin(got.out, ref.out, () => ATTN_ABS(s));
      expect(got.padding.every((x) => x === 7)).toBe(true);
      expectWithin(got.cap, refCap, (i) => CAPTURE_REL(s) * refCap[i] + 1e-30);
      c.capRows.forEach((row, n) => {
        const p = Array.from(got.cap.slice(n * s.cacheLen, (n + 1) * s.cacheLen));
        const sum = p.reduce((x, y) => x + y, 0);
        const listed = row >= 0 && row < s.mq;
        expect(Math.abs(sum - (listed ? 1 : 0))).toBeLessThanOrEqual(CAPTURE_REL(s));
        // Masked keys (later positions) are exactly 0.
        if (pos) p.forEach((x, j) => listed && pos.keyPos[j] > pos.queryPos[row] && expect(x).toBe(0));
      });
      expect(run(k, isa, c, data, false, bias).out).toEqual(got.out);
    }
  });

  it.each(ISAS)(
    "a key with bias log(n) attends as n copies of itself (proportional attention, %s)",
    async (isa) => {
      const k = await loadBuild(module);
      const [hq, hkv, d, keys] = [4, 2, 32, 6];
      const sizes = [1, 3, 1, 2, 1, 4];
      const r = rng(91);
      const q = uniform(r, hq * d);
      const kk = uniform(r, keys * hkv * d);
      const v = uniform(r, keys * hkv * d);
      // the cache with every key repeated size times
      const rows = sizes.flatMap((n, j) => new Array<number>(n).fill(j));
      const copy = (x: number[]) => rows.flatMap((j) => x.slice(j * hkv * d, (j + 1) * hkv * d));
      const one: Case = {
        name: "",
        shape: contiguous(1, hq, hkv, d, keys),
        causal: false,
        keyPos: null,
        capRows: [],
      };
      const merged = run(k, isa, one, [q, kk, v], false, sizes.map(Math.log));
      const many: Case = { ...one, shape: contiguous(1, hq, hkv, d, rows.length) };
      const repeated = run(k, isa, many, [q, copy(kk), copy(v)], false);
      expectWithin(merged.out, repeated.out, () => ATTN_ABS(many.shape));
      // and a zero bias changes nothing, bit for bit
      expect(run(k, isa, one, [q, kk, v], false, new Array<number>(keys).fill(0)).out).toEqual(
        run(k, isa, one, [q, kk, v], false).out,
      );
    },
  );

  // v = 0: the probabilities only (ATP's probe of layer 0 before the layer runs)
  it.each(ISAS)(
    "with v = 0 captures the same probabilities, bit for bit, and writes no output (%s)",
    async (isa) => {
      const k = await loadBuild(module);
      for (const c of CASES) {
        const s = c.shape;
        const r = rng(s.mq * 100 + s.d);
        const data = [
          uniform(r, s.mq * s.ldQ),
          uniform(r, s.cacheLen * s.ldKv),
          uniform(r, s.cacheLen * s.ldKv),
        ];
        const bias = c.bias ? biasOf(s.cacheLen, s.d) : null;
        const full = run(k, isa, c, data, true, bias);
        const probs = run(k, isa, c, data, true, bias, true);
        expect(probs.cap).toEqual(full.cap);
        expect(probs.out.every((x) => x === 7)).toBe(true); // the sentinel the output was filled with
      }
    },
  );

  it("the relaxed variant exists exactly in the relaxed build", async () => {
    const k = await loadBuild(module);
    const c = CASES[0];
    const data = [uniform(rng(1), 32 * 4), uniform(rng(2), 37 * 128), uniform(rng(3), 37 * 128)];
    if (k.relaxedSimd) expect(run(k, "relaxed", c, data, false).out.every(Number.isFinite)).toBe(true);
    else expect(() => run(k, "relaxed", c, data, false)).toThrow(WebAssembly.RuntimeError);
  });

  it.each(ISAS.filter((isa) => isa !== "relaxed"))(
    "query rows that see no key get zeros (mq > cache_len, %s)",
    async (isa) => {
      const k = await loadBuild(module);
      const s = contiguous(4, 2, 1, 8, 2);
      const r = rng(77);
      const data = [uniform(r, 4 * 16), uniform(r, 2 * 8), uniform(r, 2 * 8)];
      const c: Case = { name: "", shape: s, causal: true, keyPos: null, capRows: [0, 3] };
      const got = run(k, isa, c, data, true);
      expect(got.out.slice(0, 2 * 16)).toEqual(new Array<number>(32).fill(0));
      expect(Array.from(got.cap.slice(0, 2))).toEqual([0, 0]);
      // Rows 2 and 3 are the last two rows of the cache: the same as a 2-row call with their queries.
      const tail: Case = { ...c, shape: { ...s, mq: 2 }, capRows: [1] };
      const two = run(k, isa, tail, [data[0].slice(2 * 16), data[1], data[2]], true);
      expect(got.out.slice(2 * 16)).toEqual(two.out);
      expect(Array.from(got.cap.slice(2))).toEqual(Array.from(two.cap));
    },
  );

  // The SIMD kernels take query rows in pairs; a row's output (and capture) must be the one it gets alone,
  // bit for bit, or prefill and decode of the same token would drift apart.
  it.each(ISAS)("each row is computed as it is alone, bit for bit (rows in pairs, %s)", async (isa) => {
    const k = await loadBuild(module);
    const shapes: [AttnShape, boolean][] = [
      [contiguous(7, 4, 2, 48, 30), true], // decoder prefill after a prune: odd rows, 30 % 4 = 2
      [contiguous(6, 4, 2, 48, 9), true], // keys 4..9 for the rows: every nk % 4
      [contiguous(5, 2, 1, 34, 12), true], // d % 16 and d % 4 tails
      [contiguous(9, 4, 4, 32, 9), false], // vision encoder
    ];
    for (const [s, causal] of shapes) {
      const r = rng(s.mq * 7 + s.d);
      const data = [
        uniform(r, s.mq * s.ldQ),
        uniform(r, s.cacheLen * s.ldKv),
        uniform(r, s.cacheLen * s.ldKv),
      ];
      const bias = biasOf(s.cacheLen, 5);
      const all: Case = { name: "", shape: s, causal, keyPos: null, capRows: range(s.mq) };
      const got = run(k, isa, all, data, true, bias);
      for (let i = 0; i < s.mq; i++) {
        const keys = causal ? s.cacheLen - s.mq + i + 1 : s.cacheLen;
        const one: Case = {
          name: "",
          shape: { ...s, mq: 1, cacheLen: keys },
          causal,
          keyPos: null,
          capRows: [0],
        };
        const q = data[0].slice(i * s.ldQ, (i + 1) * s.ldQ);
        const alone = run(
          k,
          isa,
          one,
          [q, data[1].slice(0, keys * s.ldKv), data[2].slice(0, keys * s.ldKv)],
          true,
          bias.slice(0, keys),
        );
        expect(got.out.slice(i * s.hq * s.d, (i + 1) * s.hq * s.d)).toEqual(alone.out);
        expect(Array.from(got.cap.slice(i * s.cacheLen, i * s.cacheLen + keys))).toEqual(
          Array.from(alone.cap),
        );
      }
    }
  });
});
