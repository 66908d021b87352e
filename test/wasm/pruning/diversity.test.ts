// The selection cores of the diversity methods against scalar references written independently: DivPrune
// as the greedy max-min of its paper (hand-checked on 5 points), CDPruner's incremental-Cholesky greedy MAP
// against greedy determinant maximisation by explicit determinants, CDPruner at theta 0 = a plain DPP on
// similarity, DART's budget, and each method's exact budget through the engine.
import { describe, expect, it } from "vitest";
import { CdPrunerPolicy, dppGreedyMap } from "../../../wasm/pruning/cdpruner";
import { dartSelect } from "../../../wasm/pruning/dart";
import { maxMinDiverse } from "../../../wasm/pruning/divprune";
import { cosineMatrix, unitRows } from "../../../wasm/pruning/select";
import type { LayerView } from "../../../wasm/pruning/policy";
import { rng } from "../../helpers/kernels";

/** Determinant of the principal submatrix of L [n, n] on `idx` (Gaussian elimination, f64). */
function det(L: Float64Array, n: number, idx: number[]): number {
  const m = idx.length;
  const a = idx.map((i) => idx.map((j) => L[i * n + j]));
  let d = 1;
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    if (Math.abs(a[p][c]) < 1e-300) return 0;
    if (p !== c) [a[p], a[c], d] = [a[c], a[p], -d];
    d *= a[c][c];
    for (let r = c + 1; r < m; r++) {
      const f = a[r][c] / a[c][c];
      for (let k = c; k < m; k++) a[r][k] -= f * a[c][k];
    }
  }
  return d;
}

/** Greedy MAP by its definition: each step adds the item that maximises det(L_S). */
function greedyByDet(L: Float64Array, n: number, k: number): number[] {
  const s: number[] = [];
  for (let t = 0; t < k; t++) {
    let best = -1;
    let bestDet = -Infinity;
    for (let i = 0; i < n; i++) {
      if (s.includes(i)) continue;
      const v = det(L, n, [...s, i]);
      if (v > bestDet + 1e-12) [best, bestDet] = [i, v];
    }
    s.push(best);
  }
  return s;
}

const points = (xy: number[][]) => Float64Array.from(xy.flat());

describe("DivPrune's greedy max-min selection", () => {
  it("picks the known max-min set of 5 directions in the plane", () => {
    // unit directions at 0, 10, 90, 180 and 185 degrees: the isolated 90 first (nearest other 80 deg away),
    // then the farthest from it, and so on
    const deg = [0, 10, 90, 180, 185];
    const u = points(deg.map((a) => [Math.cos((a * Math.PI) / 180), Math.sin((a * Math.PI) / 180)]));
    expect(maxMinDiverse(u, 5, 2, 1)).toEqual([2]);
    // from 90: 0 and 180 are both 90 away (cos 0); 185 is 95 away (1 - cos 95 > 1): 185, then 0 or 10
    expect(maxMinDiverse(u, 5, 2, 3)).toEqual([2, 4, 0]);
    expect(maxMinDiverse(u, 5, 2, 5).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it("never repeats a token and honours the budget exactly, duplicates included", () => {
    const r = rng(4);
    const n = 20;
    const u = unitRows(
      Float32Array.from({ length: n * 3 }, (_, i) => (i % 7 === 0 ? 1 : r())),
      3,
      [...Array(n).keys()],
    );
    for (const k of [1, 5, 19, 20]) {
      const s = maxMinDiverse(u, n, 3, k);
      expect(s).toHaveLength(k);
      expect(new Set(s).size).toBe(k);
    }
  });
});

describe("CDPruner's DPP greedy MAP", () => {
  it("equals greedy determinant maximisation", () => {
    const r = rng(9);
    for (const [n, d, k] of [
      [6, 4, 3],
      [10, 5, 5],
      [12, 8, 6],
    ]) {
      const u = unitRows(
        Float32Array.from({ length: n * d }, () => r() * 2 - 1),
        d,
        [...Array(n).keys()],
      );
      const w = Array.from({ length: n }, () => 0.5 + r());
      const L = cosineMatrix(u, n, d).map((s, ij) => w[Math.floor(ij / n)] * s * w[ij % n]);
      expect(dppGreedyMap(L, n, k)).toEqual(greedyByDet(L, n, k));
    }
  });

  it("keeps exactly k even past the kernel's rank", () => {
    const u = unitRows(Float32Array.from([1, 0, 0, 1, 1, 1, 1, 0]), 2, [0, 1, 2, 3]); // rank 2, a duplicate
    const L = cosineMatrix(u, 4, 2);
    const s = dppGreedyMap(L, 4, 4);
    expect(new Set(s).size).toBe(4);
  });

  it("at theta 0 is a plain DPP MAP on the visual tokens' similarity", () => {
    const r = rng(12);
    const D = 6;
    const rows = 1 + 10 + 3;
    const hidden = Float32Array.from({ length: rows * D }, () => r() * 2 - 1);
    const visualRows = Int32Array.from({ length: 10 }, (_, i) => 1 + i);
    const view = {
      rows,
      visualRows,
      visualIndex: Int32Array.from({ length: 10 }, (_, i) => i),
      numVisual: 10,
      hidden: () => hidden.slice(),
    } as unknown as LayerView;
    const policy = new CdPrunerPolicy({ tokens: 4, theta: 0 });
    policy.begin({
      config: { text: { vocabSize: 3, hidden: D } } as never,
      instructionIds: [0, 2],
      tensor: (_n, len) => Float32Array.from({ length: len }, () => r()),
      has: () => true,
      embedRows: (ids) => Float32Array.from({ length: ids.length * D }, () => r()),
    });
    const u = unitRows(hidden, D, visualRows);
    const plain = dppGreedyMap(cosineMatrix(u, 10, D), 10, 4).sort((a, b) => a - b);
    expect([...policy.beforeFirstLayer(view)]).toEqual(plain);
  });
});

describe("DART's selection", () => {
  it("keeps its visual pivots and exactly `k` tokens, least similar to the pivots first", () => {
    // 1 text pivot direction e0; visual rows: a big pivot along e1, then tokens along e0 (duplicates of
    // the text pivot) and along e2
    const D = 3;
    const x = Float32Array.from([
      ...[5, 0, 0], // text row (pivot)
      ...[0, 9, 0], // visual: the largest norm, the visual pivot
      ...[1, 0, 0],
      ...[1, 0.1, 0],
      ...[0, 0, 1],
      ...[0, 0.1, 1],
    ]);
    const vis = Int32Array.of(1, 2, 3, 4, 5);
    const txt = Int32Array.of(0);
    const s = dartSelect(x, D, vis, txt, 3, 1, 1).sort();
    expect(s).toContain(0); // the visual pivot (index 0 of vis)
    expect(s).toHaveLength(3);
    // the text pivot (e0) claims an e2 token, the visual pivot (e1) an e0 or e2 one: never two duplicates of e0
    expect(s.filter((i) => i === 1 || i === 2).length).toBeLessThanOrEqual(1);
    for (const k of [1, 2, 5]) expect(dartSelect(x, D, vis, txt, k, 1, 1)).toHaveLength(k);
  });
});
