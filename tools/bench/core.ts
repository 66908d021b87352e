// The kernel benchmark, shared by the Node entry (kernels.ts) and the workerd one (worker.ts): times
// each GEMM/GEMV variant on the model's shapes, measures the core's peak for the instruction each is
// built on (assembly/gemm/peak.ts) in the same run, and sets them beside an optional fp32 peer
// (onnxruntime-web in Node). Platform-neutral: no Node or Workers APIs, only the kernel instances.
// Timing is best-of-batches, because the machine is shared: a batch that was not preempted is the
// closest to the kernel's own speed.
import type { Kernels, QGemmKernel, QGemvKernel, F32GemmKernel } from "../../wasm/kernels";
import { actStride, q4Blocks, quantizeQ4, quantizeQ8 } from "../../wasm/quant";

/** An fp32 MatMul peer: prepares Y[M, N] = X[M, K] . W^T for W f32 [N, K]; returns one timed run. */
export type Peer = (
  m: number,
  k: number,
  n: number,
  w: Float32Array,
  x: Float32Array,
) => Promise<() => Promise<void>>;

export interface BenchOptions {
  relaxed: Kernels; // the relaxed-SIMD build
  simd: Kernels; // the SIMD-only build
  rows: number[]; // M values (1 = decode GEMV)
  shapes: [number, number][]; // (K, N)
  minMs: number; // measuring time per kernel and shape
  now: () => number; // milliseconds
  peer?: Peer;
  peerName?: string;
  log?: (line: string) => void;
}

export interface KernelResult {
  name: string;
  shape: string; // "MxKxN"
  gops: number; // 2 * M * N * K / s / 1e9
  peak_fraction: number | null; // gops / peak of the instruction the kernel is built on
  vs_ort: number | null; // peer time / kernel time (> 1: faster than the peer)
  vs_ort_with_quant?: number | null; // the same with the activation quantization included
  quant_us?: number; // q8_act_quantize__simd on the same activations, microseconds
  gbps?: number; // GEMV: weight bytes streamed per second / 1e9
  us: number; // microseconds per call
}

export interface BenchReport {
  peaks: Record<string, number>; // GOP/s of the peak loops (assembly/gemm/peak.ts)
  kernels: KernelResult[];
}

const PEAK_ITERS = 200_000;
const PEAKS: [string, "relaxed" | "simd", number][] = [
  ["peak_relaxed_dot", "relaxed", 32],
  ["peak_relaxed_dot_split", "relaxed", 32],
  ["peak_dot_i16x8", "simd", 16],
  ["peak_f32x4_muladd", "simd", 8],
];

/** Smallest step of the clock in ms (workerd coarsens performance.now() to whole milliseconds). */
export function clockStep(now: () => number): number {
  let step = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = now();
    let t = t0;
    while (t === t0) t = now();
    step = Math.min(step, t - t0);
  }
  return step;
}

/**
 * Best seconds per call of fn over batches lasting about minMs in total. A batch lasts at least
 * 2 ms and 20 clock steps, so a coarse clock still resolves it to 5%.
 */
export async function timeIt(
  fn: () => unknown,
  now: () => number,
  minMs: number,
  step = 0.001,
): Promise<number> {
  const target = Math.max(2, 20 * step);
  await fn();
  let calls = 1;
  let t0 = now();
  for (;;) {
    for (let i = 0; i < calls; i++) await fn();
    if (now() - t0 >= target) break;
    calls *= 2;
    t0 = now();
  }
  let best = Infinity;
  const start = now();
  do {
    t0 = now();
    for (let i = 0; i < calls; i++) await fn();
    best = Math.min(best, (now() - t0) / calls);
  } while (now() - start < Math.max(minMs, 3 * target));
  return best / 1e3;
}

/** Bump allocator over one kernel instance, reset per shape. */
class Heap {
  private top = 0;
  constructor(private readonly k: Kernels) {
    this.reset();
  }
  reset(): void {
    this.top = (this.k.exports.heap_base() + 63) & ~63;
  }
  put(data: ArrayBufferView | number): number {
    const bytes = typeof data === "number" ? data : data.byteLength;
    const p = this.top;
    this.top = (p + bytes + 16 + 63) & ~63;
    const need = this.top - this.k.memory.buffer.byteLength;
    if (need > 0) this.k.memory.grow(Math.ceil(need / 65536));
    if (typeof data !== "number") {
      new Uint8Array(this.k.memory.buffer, p, bytes).set(new Uint8Array(data.buffer, data.byteOffset, bytes));
    }
    return p;
  }
}

function uniform(seed: number, n: number): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 2 ** 31 - 1;
  });
}

/** Runs the benchmark; results in the order measured. */
export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const log = o.log ?? (() => {});
  const step = clockStep(o.now);
  const time = (fn: () => unknown, ms = o.minMs) => timeIt(fn, o.now, ms, step);
  const peaks: Record<string, number> = {};
  const measurePeaks = async () => {
    for (const [name, build, ops] of PEAKS) {
      const fn = (build === "relaxed" ? o.relaxed : o.simd).exports[name] as (n: number, s: number) => number;
      const s = await time(() => fn(PEAK_ITERS, 3));
      peaks[name] = Math.max(peaks[name] ?? 0, (PEAK_ITERS * 8 * ops) / s / 1e9);
    }
  };
  await measurePeaks();
  log(
    `peaks (GOP/s): ${Object.entries(peaks)
      .map(([k, v]) => `${k} ${v.toFixed(1)}`)
      .join(", ")}`,
  );

  const kernels: KernelResult[] = [];
  const heaps = { relaxed: new Heap(o.relaxed), simd: new Heap(o.simd) };
  for (const m of o.rows) {
    for (const [k, n] of o.shapes) {
      const shape = `${m}x${k}x${n}`;
      const x = uniform(m * 7 + k, m * k);
      const w = uniform(k * 13 + n, n * k).map((v) => v * 0.1);
      const bias = uniform(n, n);
      const q8 = quantizeQ8(w, n, k);
      const q4 = quantizeQ4(w, n, k);
      const kb = q4Blocks(k);
      const peerS = o.peer ? await time(await o.peer(m, k, n, w, x)) : null;
      const entries: KernelResult[] = [];
      for (const build of ["relaxed", "simd"] as const) {
        const kern = o[build];
        const e = kern.exports;
        const h = heaps[build];
        h.reset();
        const [px, pw, pb] = [h.put(x), h.put(w), h.put(bias)];
        const [xq, xs, y] = [h.put(m * actStride(k)), h.put(m * 4), h.put(m * n * 4)];
        const [q8w, q8s, wsum] = [h.put(q8.data), h.put(q8.scales), h.put(n * 4)];
        const [q4w, q4s, scratch] = [h.put(q4.data), h.put(q4.scales), h.put(m * kb * 4)];
        e.q8_weight_sums__simd(q8w, wsum, n, k);
        const quantS = await time(() => e.q8_act_quantize__simd(px, xq, xs, m, k), o.minMs / 4);
        const isa = build === "relaxed" ? "__relaxed" : "__simd";
        const peak = build === "relaxed" ? peaks.peak_relaxed_dot : peaks.peak_dot_i16x8;
        const q8name = m === 1 ? `q8_f32_gemv_1x4${isa}` : `q8_f32_gemm_2x4${isa}`;
        const q4name =
          m === 1
            ? `q4_f32_gemv_1x4${isa}`
            : build === "relaxed"
              ? "q4_f32_gemm_2x4__relaxed"
              : "q4_f32_gemm_1x4__simd";
        const runs: [string, () => void, number, number, number][] = [
          m === 1
            ? [
                q8name,
                () => (e[q8name] as QGemvKernel)(xq, xs, q8w, q8s, wsum, pb, y, n, k),
                peak,
                quantS,
                n * k + n * 8,
              ]
            : [
                q8name,
                () => (e[q8name] as QGemmKernel)(xq, xs, q8w, q8s, wsum, pb, y, m, n, k),
                peak,
                quantS,
                0,
              ],
          m === 1
            ? [
                q4name,
                () => (e[q4name] as QGemvKernel)(xq, xs, q4w, q4s, scratch, pb, y, n, k),
                peak,
                quantS,
                n * kb * 20,
              ]
            : [
                q4name,
                () => (e[q4name] as QGemmKernel)(xq, xs, q4w, q4s, scratch, pb, y, m, n, k),
                peak,
                quantS,
                0,
              ],
        ];
        if (build === "simd") {
          const f = e.f32_gemm_2x4__simd as F32GemmKernel;
          runs.push([
            "f32_gemm_2x4__simd",
            () => f(px, pw, pb, y, m, n, k),
            peaks.peak_f32x4_muladd,
            0,
            m === 1 ? n * k * 4 : 0,
          ]);
          if (m === 1) {
            const g = e.q8_f32_gemv__scalar as QGemvKernel;
            runs.push([
              "q8_f32_gemv__scalar",
              () => g(xq, xs, q8w, q8s, wsum, pb, y, n, k),
              peak,
              quantS,
              n * k + n * 8,
            ]);
          }
        }
        for (const [name, fn, pk, qs, bytes] of runs) {
          const s = await time(fn);
          const gops = (2 * m * n * k) / s / 1e9;
          const r: KernelResult = {
            name,
            shape,
            gops,
            peak_fraction: pk ? gops / pk : null,
            vs_ort: peerS === null ? null : peerS / s,
            us: s * 1e6,
          };
          if (qs > 0) {
            r.quant_us = qs * 1e6;
            r.vs_ort_with_quant = peerS === null ? null : peerS / (s + qs);
          }
          if (bytes > 0) r.gbps = bytes / s / 1e9;
          entries.push(r);
        }
      }
      if (peerS !== null) {
        const gops = (2 * m * n * k) / peerS / 1e9;
        entries.push({
          name: o.peerName ?? "peer",
          shape,
          gops,
          peak_fraction: gops / peaks.peak_f32x4_muladd,
          vs_ort: 1,
          us: peerS * 1e6,
        });
      }
      for (const r of entries) log(`${shape} ${r.name} ${r.gops.toFixed(1)} GOP/s`);
      kernels.push(...entries);
    }
  }
  await measurePeaks(); // again at the end: the peak is the best seen in the run
  for (const r of kernels) {
    if (r.name.endsWith("__scalar")) r.peak_fraction = null;
    if (r.peak_fraction === null) continue;
    const basis = r.name.includes("relaxed")
      ? "peak_relaxed_dot"
      : r.name.startsWith("q")
        ? "peak_dot_i16x8"
        : "peak_f32x4_muladd";
    r.peak_fraction = r.gops / peaks[basis];
  }
  return { peaks, kernels };
}
