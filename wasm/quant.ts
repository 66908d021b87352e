// The project's weight formats (q8, q4) in one place: their block layouts and byte sizes, quantizers,
// dequantizers, and a JS reference of the kernels' activation quantizer, bit-exact with
// assembly/quant/act.ts. Used by the converter (tools/convert), the engine's weight loader
// (wasm/engine/weights.ts) and the tests. All arithmetic is f32 (Math.fround), rounding half to even as wasm's
// f32.nearest. Layouts (the contract the engine and the kernels rely on):
//   q8: data i8 [N, K] (row stride K), scales f32 [N]: s = max|W[n]| / 127 (1 if 0), q in [-127, 127]
//   q4: blocks of 32 along K (K zero-padded to KB * 32), data u8 [N, KB * 16] with byte i of a block =
//       (element i + 8) | (element i + 16, + 8) << 4 (ggml Q4_0's nibble order); one scale per group of
//       128 elements (4 blocks; the last group holds what is left), scales f32 [N, KG]: s = max / 7
//   activations: u8 [M, KP], KP = ceil(K / 32) * 32, xq = clamp(nearest(x / s), -63, 63) + 64 with
//       s = max|x[m]| / 63 (1 if 0); columns K..KP-1 hold 64 (quantized 0)

/** How a tensor is stored: f32 little-endian, or one of the quantized formats of this file. */
export type WeightDtype = "f32" | "q8" | "q4";

/** Elements per q4 block along K. */
export const Q4_BLOCK = 32;
/** Bytes per q4 block (two 4-bit values per byte). */
export const Q4_BLOCK_BYTES = 16;
/** Elements per q4 scale group along K (4 blocks): the usual GPTQ/AWQ group size (docs/architecture.md, "Weight format"). */
export const Q4_GROUP = 128;
/** Zero point of the 7-bit activations. */
export const ACT_ZERO = 64;

/** Round half to even (wasm f32.nearest / IEEE roundTiesToEven) of an f32-representable value. */
export function nearestEven(v: number): number {
  const r = Math.round(v); // ties go up
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** q4 blocks per row for K inputs. */
export function q4Blocks(k: number): number {
  return Math.ceil(k / Q4_BLOCK);
}

/** q4 scale groups per row for K inputs. */
export function q4Groups(k: number): number {
  return Math.ceil(k / Q4_GROUP);
}

/** Row stride in bytes of quantized activations (assembly/quant/act.ts `actStride`). */
export function actStride(k: number): number {
  return q4Blocks(k) * Q4_BLOCK;
}

/** A q8 tensor: W [N, K] as int8 rows and one f32 scale per output channel. */
export interface Q8Weights {
  data: Int8Array; // [N, K]
  scales: Float32Array; // [N]
}

/** A q4 tensor: W [N, K] as 32-wide blocks of nibbles and one f32 scale per 128-wide group. */
export interface Q4Weights {
  data: Uint8Array; // [N, KB * 16]
  scales: Float32Array; // [N, KG]
}

function absMax(x: ArrayLike<number>, from: number, to: number): number {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs(Math.fround(x[i])));
  return m;
}

/** Symmetric scale for a group with absolute maximum `amax` and largest code `qmax` (1 if all zero). */
function scaleOf(amax: number, qmax: number): number {
  return amax > 0 ? Math.fround(amax / qmax) : 1;
}

/** q8-quantizes nn.Linear weights w: f32 [N, K] row-major. */
export function quantizeQ8(w: ArrayLike<number>, n: number, k: number): Q8Weights {
  const data = new Int8Array(n * k);
  const scales = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const s = scaleOf(absMax(w, r * k, r * k + k), 127);
    scales[r] = s;
    for (let i = 0; i < k; i++) {
      const q = nearestEven(Math.fround(Math.fround(w[r * k + i]) / s));
      data[r * k + i] = Math.min(127, Math.max(-127, q));
    }
  }
  return { data, scales };
}

/** f32 [N, K] values of a q8 tensor: q * s in f32. */
export function dequantizeQ8(
  q: Q8Weights,
  n: number,
  k: number,
  out: Float32Array = new Float32Array(n * k),
): Float32Array {
  for (let r = 0; r < n; r++) for (let i = 0; i < k; i++) out[r * k + i] = q.data[r * k + i] * q.scales[r];
  return out;
}

/** Integer row sums of q8 data [N, K] (what assembly/quant/wsum.ts computes at load time). */
export function q8WeightSums(data: Int8Array, n: number, k: number): Int32Array {
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = 0; i < k; i++) s += data[r * k + i];
    out[r] = s;
  }
  return out;
}

/** q4-quantizes nn.Linear weights w: f32 [N, K] row-major (K padded with zeros to whole blocks). */
export function quantizeQ4(w: ArrayLike<number>, n: number, k: number): Q4Weights {
  const kb = q4Blocks(k);
  const kg = q4Groups(k);
  const data = new Uint8Array(n * kb * Q4_BLOCK_BYTES);
  const scales = new Float32Array(n * kg);
  const codes = new Int32Array(Q4_BLOCK);
  for (let r = 0; r < n; r++) {
    for (let g = 0; g < kg; g++) {
      const s = scaleOf(absMax(w, r * k + g * Q4_GROUP, r * k + Math.min(k, (g + 1) * Q4_GROUP)), 7);
      scales[r * kg + g] = s;
      for (let b = (g * Q4_GROUP) / Q4_BLOCK; b < Math.min(kb, ((g + 1) * Q4_GROUP) / Q4_BLOCK); b++) {
        const from = r * k + b * Q4_BLOCK;
        const to = r * k + Math.min(k, (b + 1) * Q4_BLOCK);
        codes.fill(0);
        for (let i = from; i < to; i++) {
          codes[i - from] = Math.min(7, Math.max(-8, nearestEven(Math.fround(Math.fround(w[i]) / s))));
        }
        const out = (r * kb + b) * Q4_BLOCK_BYTES;
        for (let i = 0; i < Q4_BLOCK_BYTES; i++) data[out + i] = (codes[i] + 8) | ((codes[i + 16] + 8) << 4);
      }
    }
  }
  return { data, scales };
}

/** The signed 4-bit code of element i (0..K-1) of row r, from the nibble blocks. */
export function q4Code(q: Q4Weights, kb: number, r: number, i: number): number {
  const b = Math.floor(i / Q4_BLOCK);
  const e = i % Q4_BLOCK;
  const byte = q.data[(r * kb + b) * Q4_BLOCK_BYTES + (e % 16)];
  return (e < 16 ? byte & 15 : byte >> 4) - 8;
}

/** f32 [N, K] values of a q4 tensor: code * group scale in f32. */
export function dequantizeQ4(
  q: Q4Weights,
  n: number,
  k: number,
  out: Float32Array = new Float32Array(n * k),
): Float32Array {
  const kb = q4Blocks(k);
  const kg = q4Groups(k);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < k; i++)
      out[r * k + i] = q4Code(q, kb, r, i) * q.scales[r * kg + Math.floor(i / Q4_GROUP)];
  }
  return out;
}

/** A quantized weight format: its byte sizes for W [n, k] and its (de)quantizer. */
export interface QuantFormat {
  /** Payload and f32-scale bytes of W [n, k]. */
  bytes(n: number, k: number): { data: number; scales: number };
  quantize(
    w: ArrayLike<number>,
    n: number,
    k: number,
  ): { data: Int8Array | Uint8Array; scales: Float32Array };
  /** f32 [n, k] of a stored tensor; `data` is its payload bytes, `out` may be a view of linear memory. */
  dequantize(data: Uint8Array, scales: Float32Array, n: number, k: number, out?: Float32Array): Float32Array;
}

/** The quantized formats by dtype. */
export const QUANT_FORMATS: Record<Exclude<WeightDtype, "f32">, QuantFormat> = {
  q8: {
    bytes: (n, k) => ({ data: n * k, scales: n * 4 }),
    quantize: quantizeQ8,
    dequantize: (data, scales, n, k, out) =>
      dequantizeQ8({ data: new Int8Array(data.buffer, data.byteOffset, n * k), scales }, n, k, out),
  },
  q4: {
    bytes: (n, k) => ({ data: n * q4Blocks(k) * Q4_BLOCK_BYTES, scales: n * q4Groups(k) * 4 }),
    quantize: quantizeQ4,
    dequantize: (data, scales, n, k, out) => dequantizeQ4({ data, scales }, n, k, out),
  },
};

/** Payload and scale bytes a tensor of `dtype` and `shape` ([n, k] when quantized) occupies. */
export function tensorBytes(dtype: WeightDtype, shape: readonly number[]): { data: number; scales: number } {
  if (dtype === "f32") return { data: shape.reduce((a, b) => a * b, 1) * 4, scales: 0 };
  return QUANT_FORMATS[dtype].bytes(shape[0], shape[1]);
}

/** 7-bit activations: xq u8 [M, KP] (zero point 64) and per-row scales f32 [M]. */
export interface QuantizedActivations {
  xq: Uint8Array;
  scales: Float32Array;
}

/** JS reference of q8_act_quantize (bit-exact): x f32 [M, K] row-major. */
export function quantizeActivations(x: ArrayLike<number>, m: number, k: number): QuantizedActivations {
  const kp = actStride(k);
  const xq = new Uint8Array(m * kp).fill(ACT_ZERO);
  const scales = new Float32Array(m);
  for (let r = 0; r < m; r++) {
    const s = scaleOf(absMax(x, r * k, r * k + k), 63);
    scales[r] = s;
    for (let i = 0; i < k; i++) {
      const q = nearestEven(Math.fround(Math.fround(x[r * k + i]) / s));
      xq[r * kp + i] = Math.min(63, Math.max(-63, q)) + ACT_ZERO;
    }
  }
  return { xq, scales };
}

/** f32 [M, K] values of quantized activations: (xq - 64) * s. */
export function dequantizeActivations(a: QuantizedActivations, m: number, k: number): Float32Array {
  const kp = actStride(k);
  const out = new Float32Array(m * k);
  for (let r = 0; r < m; r++)
    for (let i = 0; i < k; i++) out[r * k + i] = (a.xq[r * kp + i] - ACT_ZERO) * a.scales[r];
  return out;
}
