// RoPE (assembly/ops/rope.ts): the cos/sin table against float64 at HF's f32 angles, the rotation
// (SIMD == scalar bit for bit) against a float64 rotate_half reference, at positions 0, small and large,
// with a row stride wider than heads * head_dim, head_dim multiples of 8 and tails (half = 1..3, 5).
import { describe, expect, it } from "vitest";
import { arena, BUILDS, isasOf, kernelOf, loadBuild, rng } from "../../helpers/kernels";
import { U, expectWithin, ropeAngle, uniform } from "./reference";

const THETA = 10000;
const MAX_POS = 32768;
const POSITIONS = [0, 1, 2, 7, 144, 4095, 32767];

// Table: cos/sin computed in f64 from the same f32 angle, rounded once to f32: <= 1 ulp apart from
// JS's own Math.cos/sin rounded to f32 (two correctly-rounded-ish libms), i.e. <= U absolute for |v| <= 1.
const TABLE_ABS = U;
// Rotation: cos and sin carry 0.5u each (f32 rounding), the two products and the sum 1.5u, on terms
// bounded by |x1| and |x2|: |error| <= 3u * (|x1| + |x2|). The float64 reference uses the exact cos/sin of
// the f32 angle (HF's angle), so this checks the kernel, not HF's f32 angle rounding.
const ROPE_ABS = (x1: number, x2: number) => 3 * U * (Math.abs(x1) + Math.abs(x2)) + 1e-30;

/** float64 rotate_half RoPE of x [m, heads, d] (row stride ld) at positions pos. */
function rope64(x: number[], ld: number, heads: number, d: number, pos: number[]): number[] {
  const out = x.slice();
  const half = d / 2;
  pos.forEach((p, r) => {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < half; i++) {
        const a = r * ld + h * d + i;
        const ang = ropeAngle(p, i, half, THETA);
        out[a] = x[a] * Math.cos(ang) - x[a + half] * Math.sin(ang);
        out[a + half] = x[a + half] * Math.cos(ang) + x[a] * Math.sin(ang);
      }
    }
  });
  return out;
}

describe.each(BUILDS)("f32_rope ($name build)", ({ name: build, module }) => {
  const ROPE = isasOf("f32", "rope", build);
  it("fills the table from HF's f32 angles", async () => {
    const k = await loadBuild(module, 8 << 20);
    const a = arena(k);
    const half = 4;
    const table = a.f32(MAX_POS * 2 * half);
    k.exports.f32_rope_table__scalar(table, MAX_POS, half, THETA);
    const t = a.readF32(table, MAX_POS * 2 * half);
    for (const p of POSITIONS) {
      const row = Array.from(t.slice(p * 2 * half, (p + 1) * 2 * half));
      const angles = Array.from({ length: half }, (_, i) => ropeAngle(p, i, half, THETA));
      const ref = [...angles.map(Math.cos), ...angles.map(Math.sin)];
      expectWithin(row, ref, () => TABLE_ABS);
    }
    expect(Array.from(t.slice(0, 2 * half))).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
  });

  it.each([2, 4, 6, 8, 10, 16, 32, 64])("rotates like float64 rotate_half, head_dim=%i", async (d) => {
    const k = await loadBuild(module, 8 << 20);
    const a = arena(k);
    const half = d / 2;
    const heads = 3;
    const ld = heads * d + 5; // e.g. q inside a fused projection row
    const pos = POSITIONS;
    const m = pos.length;
    const table = a.f32(MAX_POS * d);
    k.exports.f32_rope_table__scalar(table, MAX_POS, half, THETA);
    const posPtr = a.alloc(4 * m);
    new Int32Array(k.memory.buffer, posPtr, m).set(pos);
    const x = uniform(rng(d), m * ld, -2, 2).map(Math.fround);
    const ref = rope64(x, ld, heads, d, pos);
    const [s, ...fast] = ROPE.map((isa) => {
      const xp = a.f32(x);
      kernelOf(k, "f32", "rope", isa, "rope")(xp, ld, m, heads, d, posPtr, table);
      return a.readF32(xp, m * ld);
    });
    for (const v of fast) expect(v).toEqual(s);
    expectWithin(s, ref, (i) => {
      const j = (i % ld) % d; // lanes past heads * d are padding: untouched, so exact
      const lo = j < half ? i : i - half;
      return ROPE_ABS(x[lo], x[lo + half]);
    });
    // Position 0 is the identity, exactly; the padding between rows is untouched.
    expect(Array.from(s.slice(0, heads * d))).toEqual(x.slice(0, heads * d));
    for (let r = 0; r < m; r++)
      expect(Array.from(s.slice(r * ld + heads * d, (r + 1) * ld))).toEqual(
        x.slice(r * ld + heads * d, (r + 1) * ld),
      );
  });
});
