// Rotary position embedding at explicit position ids, Llama / HF "rotate_half" convention: within each
// head of head_dim = 2*half values, element i pairs with element i + half and is rotated by
// angle = pos * theta^(-i/half):
//   x1' = x1*cos - x2*sin;  x2' = x2*cos + x1*sin        (x1 = x[i], x2 = x[i + half], i < half)
// Positions are per row, so pruned sequences keep their original positions.
// cos/sin come from a table [max_pos, 2, half] (cos half, then sin half, per position) filled once by
// f32_rope_table__scalar the way HF computes them in f32: inv_freq rounded to f32, angle = f32(pos * inv_freq)
// (a single f32 product, as HF's f32 matmul of inv_freq by positions), then cos/sin in f64 rounded to f32.
// (HF evaluates theta^(2i/d) with f32 pow: inv_freq may differ from ours by 1 ulp.)
// The rotation kernels run in place on x [m, heads, head_dim] with a row stride `ld` (floats) between
// consecutive rows, so q and k inside a fused projection output can be rotated where they lie.
// Scalar and SIMD rotations perform the same operations per element: bit-identical.
// Requires: SIMD128 for the __simd variant. Callers guarantee 0 <= pos[r] < max_pos and an even head_dim.

/** Fills the cos/sin table: table [max_pos, 2, half] f32, theta = RoPE base (e.g. 10000). */
export function f32_rope_table__scalar(table: usize, max_pos: i32, half: i32, theta: f32): void {
  for (let i = 0; i < half; i++) {
    const inv_freq = <f32>(1.0 / Math.pow(<f64>theta, <f64>i / <f64>half));
    for (let p = 0; p < max_pos; p++) {
      const ang = <f64>(<f32>p * inv_freq);
      const row = table + ((<usize>p * half * 2) << 2);
      store<f32>(row + ((<usize>i) << 2), <f32>Math.cos(ang));
      store<f32>(row + ((<usize>(half + i)) << 2), <f32>Math.sin(ang));
    }
  }
}

/** RoPE in place, scalar reference. x: [m, heads, head_dim] with row stride ld; pos: i32 [m]. */
export function f32_rope__scalar(
  x: usize,
  ld: i32,
  m: i32,
  heads: i32,
  head_dim: i32,
  pos: usize,
  table: usize,
): void {
  const half = head_dim >> 1;
  for (let r = 0; r < m; r++) {
    const c = table + ((<usize>load<i32>(pos + ((<usize>r) << 2)) * head_dim) << 2);
    const s = c + ((<usize>half) << 2);
    for (let h = 0; h < heads; h++) {
      const x1 = x + ((<usize>r * ld + h * head_dim) << 2);
      const x2 = x1 + ((<usize>half) << 2);
      for (let i = 0; i < half; i++) {
        const o = (<usize>i) << 2;
        const a = load<f32>(x1 + o);
        const b = load<f32>(x2 + o);
        const cv = load<f32>(c + o);
        const sv = load<f32>(s + o);
        store<f32>(x1 + o, a * cv - b * sv);
        store<f32>(x2 + o, b * cv + a * sv);
      }
    }
  }
}

/** RoPE in place, SIMD (4 pairs at a time). Same signature as the scalar reference. */
export function f32_rope__simd(
  x: usize,
  ld: i32,
  m: i32,
  heads: i32,
  head_dim: i32,
  pos: usize,
  table: usize,
): void {
  const half = head_dim >> 1;
  for (let r = 0; r < m; r++) {
    const c = table + ((<usize>load<i32>(pos + ((<usize>r) << 2)) * head_dim) << 2);
    const s = c + ((<usize>half) << 2);
    for (let h = 0; h < heads; h++) {
      const x1 = x + ((<usize>r * ld + h * head_dim) << 2);
      const x2 = x1 + ((<usize>half) << 2);
      let i = 0;
      for (; i + 4 <= half; i += 4) {
        const o = (<usize>i) << 2;
        const a = v128.load(x1 + o);
        const b = v128.load(x2 + o);
        const cv = v128.load(c + o);
        const sv = v128.load(s + o);
        v128.store(x1 + o, f32x4.sub(f32x4.mul(a, cv), f32x4.mul(b, sv)));
        v128.store(x2 + o, f32x4.add(f32x4.mul(b, cv), f32x4.mul(a, sv)));
      }
      for (; i < half; i++) {
        const o = (<usize>i) << 2;
        const a = load<f32>(x1 + o);
        const b = load<f32>(x2 + o);
        const cv = load<f32>(c + o);
        const sv = load<f32>(s + o);
        store<f32>(x1 + o, a * cv - b * sv);
        store<f32>(x2 + o, b * cv + a * sv);
      }
    }
  }
}
