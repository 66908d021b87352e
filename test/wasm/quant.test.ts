import { describe, expect, it } from "vitest";
import { rng } from "../helpers/kernels";
import {
  ACT_ZERO,
  actStride,
  dequantizeActivations,
  dequantizeQ4,
  dequantizeQ8,
  nearestEven,
  q4Blocks,
  q4Groups,
  Q4_GROUP,
  q4Code,
  quantizeActivations,
  quantizeQ4,
  quantizeQ8,
} from "../../wasm/quant";

// Rounding to the nearest grid point moves a value by at most half a step; the slack covers the f32
// division before rounding and the f32 product when dequantizing (relative 2^-24 of at most 127 steps).
const HALF_STEP = 0.5 + 1e-4;

function randomRows(seed: number, n: number, k: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * k }, () => (r() * 2 - 1) * 10 ** (r() * 3 - 1.5));
}

describe("nearestEven", () => {
  it("rounds ties to even and everything else to nearest", () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5].map(nearestEven)).toEqual([
      0, 2, 2, 4, -0, -2, -2, -4,
    ]);
    expect([2.4999998, 2.5000002, -7.6, 126.5, 127.5].map(nearestEven)).toEqual([2, 3, -8, 126, 128]);
  });
});

describe("q8 weights", () => {
  it("round trip stays within half a step per channel; codes in [-127, 127]; the max hits 127", () => {
    const [n, k] = [7, 45];
    const w = randomRows(1, n, k);
    const q = quantizeQ8(w, n, k);
    const back = dequantizeQ8(q, n, k);
    for (let r = 0; r < n; r++) {
      let amax = 0;
      for (let i = 0; i < k; i++) amax = Math.max(amax, Math.abs(w[r * k + i]));
      expect(q.scales[r]).toBe(Math.fround(amax / 127));
      let hit = false;
      for (let i = 0; i < k; i++) {
        const c = q.data[r * k + i];
        expect(Math.abs(c)).toBeLessThanOrEqual(127);
        hit ||= Math.abs(c) === 127;
        expect(Math.abs(back[r * k + i] - w[r * k + i])).toBeLessThanOrEqual(HALF_STEP * q.scales[r]);
      }
      expect(hit).toBe(true);
    }
  });

  it("an all-zero row gets scale 1 and zero codes; ties round to even", () => {
    // Row 1: max 127 gives s = 1, so the codes are the rounded values themselves.
    const w = new Float32Array([0, 0, 0, 0, 127, 0.5, 1.5, -2.5]);
    const q = quantizeQ8(w, 2, 4);
    expect(Array.from(q.scales)).toEqual([1, 1]);
    expect(Array.from(q.data)).toEqual([0, 0, 0, 0, 127, 0, 2, -2]);
  });
});

describe("q4 weights", () => {
  it("packs element i in the low nibble and i + 16 in the high nibble, code + 8, 16 bytes per block", () => {
    // One row of 40 inputs: block 0 holds codes -7..7 cycling, block 1 holds 8 values and 24 zero pads.
    const k = 40;
    const w = Float32Array.from({ length: k }, (_, i) => (i < 32 ? (i % 15) - 7 : i === 32 ? 7 : -1));
    const q = quantizeQ4(w, 1, k);
    expect(q4Blocks(k)).toBe(2);
    expect(q.data.length).toBe(2 * 16);
    expect(Array.from(q.scales)).toEqual([1]); // one group of 128 covers both blocks
    for (let i = 0; i < 16; i++) {
      expect(q.data[i] & 15).toBe((i % 15) - 7 + 8);
      expect(q.data[i] >> 4).toBe(((i + 16) % 15) - 7 + 8);
    }
    expect(q.data[16]).toBe((7 + 8) | ((0 + 8) << 4)); // element 32, padding 48
    expect(q.data[17]).toBe(-1 + 8 + (8 << 4));
    expect(q.data.subarray(24, 32).every((b) => b === 0x88)).toBe(true); // all padding
    expect(q4Code(q, 2, 0, 32)).toBe(7);
  });

  it("one scale per group of 128 (the last one partial); round trip within half a step; zero groups get scale 1", () => {
    const [n, k] = [5, 300];
    const w = randomRows(2, n, k);
    w.fill(0, 256, 300); // row 0, last (partial) group all zero
    w[1 * k + 130] = 1000; // row 1, group 1: its scale follows this element alone
    const q = quantizeQ4(w, n, k);
    const kb = q4Blocks(k);
    const kg = q4Groups(k);
    expect(kg).toBe(3);
    expect(q.scales.length).toBe(n * kg);
    expect(q.scales[kg - 1]).toBe(1);
    expect(q.scales[kg + 1]).toBe(Math.fround(1000 / 7));
    const back = dequantizeQ4(q, n, k);
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < k; i++) {
        const s = q.scales[r * kg + Math.floor(i / Q4_GROUP)];
        const c = q4Code(q, kb, r, i);
        expect(c >= -8 && c <= 7).toBe(true);
        expect(Math.abs(back[r * k + i] - w[r * k + i])).toBeLessThanOrEqual(HALF_STEP * s);
      }
    }
  });

  it("rounds ties to even", () => {
    // max 7 gives s = 1: 0.5 -> 0, 1.5 -> 2, -2.5 -> -2, 6.5 -> 6.
    const w = new Float32Array(32);
    w.set([7, 0.5, 1.5, -2.5, 6.5]);
    const q = quantizeQ4(w, 1, 32);
    expect([0, 1, 2, 3, 4].map((i) => q4Code(q, 1, 0, i))).toEqual([7, 0, 2, -2, 6]);
  });
});

describe("activation reference", () => {
  it("codes in [1, 127] with zero point 64, padding 64, round trip within half a step", () => {
    const [m, k] = [3, 50];
    const x = randomRows(3, m, k);
    const a = quantizeActivations(x, m, k);
    expect(actStride(k)).toBe(64);
    expect(a.xq.length).toBe(m * 64);
    const back = dequantizeActivations(a, m, k);
    for (let r = 0; r < m; r++) {
      for (let i = 0; i < 64; i++) {
        const v = a.xq[r * 64 + i];
        if (i >= k) expect(v).toBe(ACT_ZERO);
        else {
          expect(v >= 1 && v <= 127).toBe(true);
          expect(Math.abs(back[r * k + i] - x[r * k + i])).toBeLessThanOrEqual(HALF_STEP * a.scales[r]);
        }
      }
    }
  });
});
