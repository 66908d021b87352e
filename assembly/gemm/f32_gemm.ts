// f32 GEMM: y[M, N] = x[M, K] . W[N, K]^T (+ bias[N]), W in nn.Linear layout (row stride K), x row
// stride K, y row stride N, bias 0 = none. For small f32 matmuls and as the peer of the
// onnxruntime-web fp32 MatMul in the kernel benchmark.
// Microkernel 2x4c4 (__simd): 2 rows x 4 channels, one f32x4 accumulator per pair (mul + add, no
// FMA: plain SIMD128), reduced per row by hsum4_f32; K % 4 is added by a scalar tail, N % 4 by
// clamped channel pointers, M % 2 by a 1x4 pass. The summation order differs from the scalar
// reference (4 interleaved partial sums), so results agree within rounding, not bit for bit.
import { hsum4_f32, load4, rowPtr, store4 } from "./common";

/** Scalar reference: sequential f32 sum over k per output. */
export function f32_gemm__scalar(x: usize, w: usize, bias: usize, y: usize, m: i32, n: i32, k: i32): void {
  for (let r = 0; r < m; r++) {
    const xr = x + ((<usize>r * <usize>k) << 2);
    for (let c = 0; c < n; c++) {
      const wr = w + ((<usize>c * <usize>k) << 2);
      let s: f32 = 0;
      for (let i = 0; i < k; i++) s += load<f32>(xr + ((<usize>i) << 2)) * load<f32>(wr + ((<usize>i) << 2));
      if (bias) s += load<f32>(bias + ((<usize>c) << 2));
      store<f32>(y + ((<usize>r * <usize>n + <usize>c) << 2), s);
    }
  }
}

/** SIMD 2x4c4 microkernel (see file header). */
export function f32_gemm_2x4__simd(x: usize, w: usize, bias: usize, y: usize, m: i32, n: i32, k: i32): void {
  const k4 = k & ~3;
  const kb = (<usize>k) << 2;
  const z = f32x4.splat(0);
  for (let j = 0; j < n; j += 4) {
    const nv = min(4, n - j);
    const w0 = rowPtr(w, j, 0, n, k << 2);
    const w1 = rowPtr(w, j, 1, n, k << 2);
    const w2 = rowPtr(w, j, 2, n, k << 2);
    const w3 = rowPtr(w, j, 3, n, k << 2);
    const bv = bias ? load4(bias, j, nv) : z;
    let i = 0;
    for (; i + 2 <= m; i += 2) {
      const x0 = x + <usize>i * kb;
      const x1 = x0 + kb;
      let c00 = z,
        c01 = z,
        c02 = z,
        c03 = z,
        c10 = z,
        c11 = z,
        c12 = z,
        c13 = z;
      for (let p: usize = 0; p < (<usize>k4) << 2; p += 16) {
        const a0 = v128.load(x0 + p);
        const a1 = v128.load(x1 + p);
        let b = v128.load(w0 + p);
        c00 = f32x4.add(c00, f32x4.mul(a0, b));
        c10 = f32x4.add(c10, f32x4.mul(a1, b));
        b = v128.load(w1 + p);
        c01 = f32x4.add(c01, f32x4.mul(a0, b));
        c11 = f32x4.add(c11, f32x4.mul(a1, b));
        b = v128.load(w2 + p);
        c02 = f32x4.add(c02, f32x4.mul(a0, b));
        c12 = f32x4.add(c12, f32x4.mul(a1, b));
        b = v128.load(w3 + p);
        c03 = f32x4.add(c03, f32x4.mul(a0, b));
        c13 = f32x4.add(c13, f32x4.mul(a1, b));
      }
      const y0 = y + ((<usize>i * <usize>n + <usize>j) << 2);
      f32Out(y0, hsum4_f32(c00, c01, c02, c03), x0, w0, w1, w2, w3, k4, k, bias, bv, nv);
      f32Out(y0 + ((<usize>n) << 2), hsum4_f32(c10, c11, c12, c13), x1, w0, w1, w2, w3, k4, k, bias, bv, nv);
    }
    if (i < m) {
      const x0 = x + <usize>i * kb;
      let c0 = z,
        c1 = z,
        c2 = z,
        c3 = z;
      for (let p: usize = 0; p < (<usize>k4) << 2; p += 16) {
        const a0 = v128.load(x0 + p);
        c0 = f32x4.add(c0, f32x4.mul(a0, v128.load(w0 + p)));
        c1 = f32x4.add(c1, f32x4.mul(a0, v128.load(w1 + p)));
        c2 = f32x4.add(c2, f32x4.mul(a0, v128.load(w2 + p)));
        c3 = f32x4.add(c3, f32x4.mul(a0, v128.load(w3 + p)));
      }
      const y0 = y + ((<usize>i * <usize>n + <usize>j) << 2);
      f32Out(y0, hsum4_f32(c0, c1, c2, c3), x0, w0, w1, w2, w3, k4, k, bias, bv, nv);
    }
  }
}

// Adds the scalar K tail and the bias to a reduced row of 4 channels and stores nv lanes.
function f32Out(
  yrow: usize,
  s: v128,
  x: usize,
  w0: usize,
  w1: usize,
  w2: usize,
  w3: usize,
  k4: i32,
  k: i32,
  bias: usize,
  bv: v128,
  nv: i32,
): void {
  let v = s;
  if (k4 < k)
    v = f32x4.add(
      v,
      f32x4(tailF32(x, w0, k4, k), tailF32(x, w1, k4, k), tailF32(x, w2, k4, k), tailF32(x, w3, k4, k)),
    );
  if (bias) v = f32x4.add(v, bv);
  store4(yrow, v, nv);
}

function tailF32(x: usize, w: usize, from: i32, to: i32): f32 {
  let s: f32 = 0;
  for (let i = from; i < to; i++) s += load<f32>(x + ((<usize>i) << 2)) * load<f32>(w + ((<usize>i) << 2));
  return s;
}
