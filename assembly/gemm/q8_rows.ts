// The one-row bodies the q8 GEMV and the q8 GEMM's M % 2 tail share: exact integer dots of one 7-bit
// activation row with 4 weight rows (1x4c16, relaxed and plain SIMD), the relaxed dot itself and the
// K-tail dots; and the GEMV's 1x8c16 main tile (one row x 8 channels through the output stage).
// Operands as assembly/gemm/q8_gemm.ts. The relaxed bodies are generic over the form of the dot (`rdot`:
// FusedDot for the __relaxed kernels, SplitDot for __relaxed_split). Requires SIMD128 (+ relaxed SIMD for
// the relaxed bodies).
import { ACT_ZERO } from "../quant/act";
import { dotTail, hsum4_i32, load4, outRow } from "./common";

/** Exact dots of one activation row with 4 weight rows (relaxed form, minus corr = 64 * wsum). */
export function q8_row1x4_relaxed<D>(
  x: usize,
  w0: usize,
  w1: usize,
  w2: usize,
  w3: usize,
  corr: v128,
  k16: i32,
  k: i32,
): v128 {
  const ones = v128.load(K_ONES16);
  let c0 = i32x4.splat(0),
    c1 = c0,
    c2 = c0,
    c3 = c0;
  for (let p: usize = 0; p < <usize>k16; p += 16) {
    const a = v128.load(x + p);
    c0 = rdot<D>(v128.load(w0 + p), a, c0, ones);
    c1 = rdot<D>(v128.load(w1 + p), a, c1, ones);
    c2 = rdot<D>(v128.load(w2 + p), a, c2, ones);
    c3 = rdot<D>(v128.load(w3 + p), a, c3, ones);
  }
  const r = i32x4.sub(hsum4_i32(c0, c1, c2, c3), corr);
  return k16 < k ? i32x4.add(r, tail4(x, w0, w1, w2, w3, k16, k)) : r;
}

/**
 * One activation row x the 8 channels j..j+7 (all valid), relaxed form, through the output stage: one
 * activation load per 16 K-bytes serves eight channels (the GEMV's main tile; 1x4 takes the last n % 8).
 * Same dots, hence the same y, as q8_row1x4_relaxed + outRow on each half.
 */
export function q8_row1x8_relaxed<D>(
  x: usize,
  w: usize,
  ws: usize,
  wsum: usize,
  bias: usize,
  y: usize,
  sx: f32,
  j: i32,
  k16: i32,
  k: i32,
): void {
  const ones = v128.load(K_ONES16);
  const rs = <usize>k;
  const w0 = w + <usize>j * rs;
  let c0 = i32x4.splat(0),
    c1 = c0,
    c2 = c0,
    c3 = c0,
    c4 = c0,
    c5 = c0,
    c6 = c0,
    c7 = c0;
  for (let p: usize = 0; p < <usize>k16; p += 16) {
    const a = v128.load(x + p);
    const q = w0 + p;
    c0 = rdot<D>(v128.load(q), a, c0, ones);
    c1 = rdot<D>(v128.load(q + rs), a, c1, ones);
    c2 = rdot<D>(v128.load(q + 2 * rs), a, c2, ones);
    c3 = rdot<D>(v128.load(q + 3 * rs), a, c3, ones);
    c4 = rdot<D>(v128.load(q + 4 * rs), a, c4, ones);
    c5 = rdot<D>(v128.load(q + 5 * rs), a, c5, ones);
    c6 = rdot<D>(v128.load(q + 6 * rs), a, c6, ones);
    c7 = rdot<D>(v128.load(q + 7 * rs), a, c7, ones);
  }
  for (let h = 0; h < 2; h++) {
    const jh = j + 4 * h;
    const wh = w0 + <usize>(4 * h) * rs;
    let r = h == 0 ? hsum4_i32(c0, c1, c2, c3) : hsum4_i32(c4, c5, c6, c7);
    r = i32x4.sub(r, i32x4.shl(load4(wsum, jh, 4), 6));
    if (k16 < k) r = i32x4.add(r, tail4(x, wh, wh + rs, wh + 2 * rs, wh + 3 * rs, k16, k));
    const bv = bias ? load4(bias, jh, 4) : i32x4.splat(0);
    outRow(y + ((<usize>jh) << 2), r, sx, load4(ws, jh, 4), bias, bv, 4);
  }
}

/** Exact dots of one activation row with 4 weight rows (direct form: (xq - 64) extended to i16). */
export function q8_row1x4_simd(x: usize, w0: usize, w1: usize, w2: usize, w3: usize, k16: i32, k: i32): v128 {
  const zp = i8x16.splat(<i8>ACT_ZERO);
  let c0 = i32x4.splat(0),
    c1 = c0,
    c2 = c0,
    c3 = c0;
  for (let p: usize = 0; p < <usize>k16; p += 16) {
    const a = i8x16.sub(v128.load(x + p), zp);
    const al = i16x8.extend_low_i8x16_s(a);
    const ah = i16x8.extend_high_i8x16_s(a);
    c0 = i32x4.add(c0, dot16(v128.load(w0 + p), al, ah));
    c1 = i32x4.add(c1, dot16(v128.load(w1 + p), al, ah));
    c2 = i32x4.add(c2, dot16(v128.load(w2 + p), al, ah));
    c3 = i32x4.add(c3, dot16(v128.load(w3 + p), al, ah));
  }
  const r = hsum4_i32(c0, c1, c2, c3);
  return k16 < k ? i32x4.add(r, tail4z(x, w0, w1, w2, w3, k16, k)) : r;
}

/** q8_row1x8_relaxed's plain-SIMD twin (direct form; wsum is not read). */
export function q8_row1x8_simd(
  x: usize,
  w: usize,
  ws: usize,
  bias: usize,
  y: usize,
  sx: f32,
  j: i32,
  k16: i32,
  k: i32,
): void {
  const zp = i8x16.splat(<i8>ACT_ZERO);
  const rs = <usize>k;
  const w0 = w + <usize>j * rs;
  let c0 = i32x4.splat(0),
    c1 = c0,
    c2 = c0,
    c3 = c0,
    c4 = c0,
    c5 = c0,
    c6 = c0,
    c7 = c0;
  for (let p: usize = 0; p < <usize>k16; p += 16) {
    const a = i8x16.sub(v128.load(x + p), zp);
    const al = i16x8.extend_low_i8x16_s(a);
    const ah = i16x8.extend_high_i8x16_s(a);
    const q = w0 + p;
    c0 = i32x4.add(c0, dot16(v128.load(q), al, ah));
    c1 = i32x4.add(c1, dot16(v128.load(q + rs), al, ah));
    c2 = i32x4.add(c2, dot16(v128.load(q + 2 * rs), al, ah));
    c3 = i32x4.add(c3, dot16(v128.load(q + 3 * rs), al, ah));
    c4 = i32x4.add(c4, dot16(v128.load(q + 4 * rs), al, ah));
    c5 = i32x4.add(c5, dot16(v128.load(q + 5 * rs), al, ah));
    c6 = i32x4.add(c6, dot16(v128.load(q + 6 * rs), al, ah));
    c7 = i32x4.add(c7, dot16(v128.load(q + 7 * rs), al, ah));
  }
  for (let h = 0; h < 2; h++) {
    const jh = j + 4 * h;
    const wh = w0 + <usize>(4 * h) * rs;
    let r = h == 0 ? hsum4_i32(c0, c1, c2, c3) : hsum4_i32(c4, c5, c6, c7);
    if (k16 < k) r = i32x4.add(r, tail4z(x, wh, wh + rs, wh + 2 * rs, wh + 3 * rs, k16, k));
    const bv = bias ? load4(bias, jh, 4) : i32x4.splat(0);
    outRow(y + ((<usize>jh) << 2), r, sx, load4(ws, jh, 4), bias, bv, 4);
  }
}

/** Type-level switch of the relaxed bodies: the dot as its one fused instruction (see rdot). */
export class FusedDot {}
/** Type-level switch of the relaxed bodies: the dot split in two instructions (see rdot). */
export class SplitDot {}

/** i16x8.splat(1) as a row in static memory (assembly/ops/math.ts says why not a splat). */
export const K_ONES16 = memory.data<i16>([1, 1, 1, 1, 1, 1, 1, 1], 16);

/**
 * acc + the relaxed dot of 16 signed weight bytes w with 16 7-bit activations x (16 MACs into 4 i32
 * lanes), in one of two forms, chosen per instantiation at compile time:
 *  - FusedDot: i32x4.relaxed_dot_i8x16_i7x16_add_s. V8 lowers it to one AVX-VNNI vpdpbusd where the CPU
 *    has it (126 GOP/s peak on a Sapphire Rapids); elsewhere on x64 to pmaddubsw + pmaddwd + paddd with
 *    the ones operand rebuilt at every use (68 GOP/s on an AMD EPYC Zen 3 without VNNI).
 *  - SplitDot: i16x8.relaxed_dot_i8x16_i7x16_s (pmaddubsw), i32x4.dot_i16x8_s against `ones` (pmaddwd)
 *    and an add: the same three instructions with ones held in a register (loaded from K_ONES16 before
 *    the loop), 1.13-1.28x the fused form's GEMM speed on that EPYC in workerd, slower with VNNI.
 * Both are exact and equal: each i16 pair sum is at most 2 * 128 * 127 < 2^15 (no saturation), so the
 * kernels built on either give bit-identical results. Which one a host runs: wasm/kernels.ts bestKernel.
 */
export function rdot<D>(w: v128, x: v128, acc: v128, ones: v128): v128 {
  if (idof<D>() == idof<SplitDot>())
    return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(w, x), ones));
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(w, x, acc);
}

/** i32x4 partial dot of 16 signed weight bytes with 16 activations already extended to i16. */
export function dot16(b: v128, al: v128, ah: v128): v128 {
  return i32x4.add(
    i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(b), al),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(b), ah),
  );
}

/** K tail of one activation row against 4 channels, raw products (the relaxed form: wsum corrects). */
export function tail4(x: usize, w0: usize, w1: usize, w2: usize, w3: usize, from: i32, to: i32): v128 {
  return i32x4(
    dotTail(x, w0, from, to, 0),
    dotTail(x, w1, from, to, 0),
    dotTail(x, w2, from, to, 0),
    dotTail(x, w3, from, to, 0),
  );
}

/** K tail of one activation row against 4 channels with the zero point removed (the direct form). */
export function tail4z(x: usize, w0: usize, w1: usize, w2: usize, w3: usize, from: i32, to: i32): v128 {
  return i32x4(
    dotTail(x, w0, from, to, ACT_ZERO),
    dotTail(x, w1, from, to, ACT_ZERO),
    dotTail(x, w2, from, to, ACT_ZERO),
    dotTail(x, w3, from, to, ACT_ZERO),
  );
}
