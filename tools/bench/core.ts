// The kernel benchmark, shared by the Node entry (kernels.ts) and the workerd one (worker.ts): times
// every GEMM/GEMV row of the kernel table (wasm/kernels.ts) on the model's shapes, each in the build of
// its ISA, then the ops around them (ops.ts), measures the core's peak for the instruction each is built on (the bench-only module,
// assembly/bench/peak.ts) in the same run, and sets them beside an optional fp32 peer (onnxruntime-web
// in Node). Platform-neutral: no Node or Workers APIs, only the kernel instances.
// Timing is best-of-batches, because the machine is shared: a batch that was not preempted is the
// closest to the kernel's own speed.
import {
  actStride,
  bestKernel,
  isRelaxed,
  kernelFn,
  kernelName,
  KERNELS,
  q4Groups,
  QUANT_FORMATS,
  rdotLowering,
  scratchRegion,
  tensorBytes,
  type KernelRow,
  type Kernels,
  type RdotLowering,
} from "../../wasm/tools";
import { runOps, type OpResult, type OpShapes } from "./ops";

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
  peaks: { relaxed: PeakLoops; simd: PeakLoops }; // the bench-only module's builds (assembly/bench/)
  rows: number[]; // M values (1 = decode GEMV)
  shapes: [number, number][]; // (K, N)
  ops?: OpShapes; // the model dimensions of the ops benchmark (ops.ts); none: not run
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
  /**
   * GEMV with its weights read from memory, as in decode (every layer's weights once per token, far more
   * than the caches hold): GOP/s over copies of the weights totalling STREAM_BYTES, one after another.
   */
  streamed_gops?: number;
  us: number; // microseconds per call
}

export interface BenchReport {
  int8_dot: RdotLowering; // how this engine runs the fused int8 dot: the host class (wasm/kernels.ts)
  peaks: Record<string, number>; // GOP/s of the peak loops (assembly/gemm/peak.ts)
  kernels: KernelResult[];
  ops: OpResult[]; // the non-GEMM ops (ops.ts), when BenchOptions.ops was given
}

const PEAK_ITERS = 200_000;
/** Working set of the streamed GEMV timing: beyond the L2 and this VM's share of L3. */
const STREAM_BYTES = 64 << 20;
const PEAKS = [
  ["peak_relaxed_dot", "relaxed", 32],
  ["peak_relaxed_dot_split", "relaxed", 32],
  ["peak_dot_i16x8", "simd", 16],
  ["peak_f32x4_muladd", "simd", 8],
] as const;
type PeakName = (typeof PEAKS)[number][0];

/** The exports of the bench-only module (assembly/bench/index.ts): peak loops returning a checksum. */
export type PeakLoops = Record<PeakName, (iters: number, seed: number) => number>;

/** Instantiates a build of the bench-only module. */
export async function instantiatePeaks(module: WebAssembly.Module): Promise<PeakLoops> {
  return (await WebAssembly.instantiate(module, {})).exports as unknown as PeakLoops;
}

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

function uniform(seed: number, n: number): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 2 ** 31 - 1;
  });
}

/** The peak loop a row's instruction mix is measured against (null: scalar rows are not). */
function peakOf(r: KernelRow): PeakName | null {
  if (r.isa === "scalar") return null;
  if (r.isa === "relaxed") return "peak_relaxed_dot";
  if (r.isa === "relaxed_split") return "peak_relaxed_dot_split";
  return r.dtype.startsWith("q") ? "peak_dot_i16x8" : "peak_f32x4_muladd";
}

/**
 * The rows benchmarked at M rows: the GEMV rows (and the f32 GEMM) at M = 1, the GEMM rows above it;
 * scalar references only at M = 1 (at prefill sizes they take seconds a call).
 */
function benchRows(m: number): KernelRow[] {
  const sigs = m === 1 ? ["qgemv", "f32gemm"] : ["qgemm", "f32gemm"];
  return KERNELS.filter((r) => sigs.includes(r.sig) && (m === 1 || r.isa !== "scalar"));
}

/** Runs the benchmark; results in the order measured. */
export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const log = o.log ?? (() => {});
  const step = clockStep(o.now);
  const time = (fn: () => unknown, ms = o.minMs) => timeIt(fn, o.now, ms, step);
  const peaks: Record<string, number> = {};
  const measurePeaks = async () => {
    for (const [name, build, ops] of PEAKS) {
      const fn = o.peaks[build][name];
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
  const heaps = { relaxed: scratchRegion(o.relaxed, "bench"), simd: scratchRegion(o.simd, "bench") };
  for (const m of o.rows) {
    for (const [k, n] of o.shapes) {
      const shape = `${m}x${k}x${n}`;
      const x = uniform(m * 7 + k, m * k);
      const w = uniform(k * 13 + n, n * k).map((v) => v * 0.1);
      const bias = uniform(n, n);
      const q8 = QUANT_FORMATS.q8.quantize(w, n, k);
      const q4 = QUANT_FORMATS.q4.quantize(w, n, k);
      const peerS = o.peer ? await time(await o.peer(m, k, n, w, x)) : null;
      const entries: KernelResult[] = [];
      for (const build of ["relaxed", "simd"] as const) {
        const kern = o[build];
        const h = heaps[build];
        h.reset();
        const [px, pw, pb] = [h.put(x), h.put(w), h.put(bias)];
        const [xq, xs, y] = [h.alloc(m * actStride(k)), h.alloc(m * 4), h.alloc(m * n * 4)];
        // Weight operands per dtype: data, scales, aux (q8: row sums; q4: block-sum scratch).
        const q8w = { data: h.put(q8.data), scales: h.put(q8.scales), aux: h.alloc(n * 4) };
        const q4w = { data: h.put(q4.data), scales: h.put(q4.scales), aux: h.alloc(m * q4Groups(k) * 4) };
        bestKernel(kern, "q8", "weight_sums", "weightSums").fn(q8w.data, q8w.aux, n, k);
        const quantize = bestKernel(kern, "q8", "act_quantize", "actQuantize").fn;
        const quantS = await time(() => quantize(px, xq, xs, m, k), o.minMs / 4);
        const rows = benchRows(m).filter((r) => isRelaxed(r.isa) === (build === "relaxed"));
        const streamCopies: Record<string, { data: number; scales: number }[]> = {};
        for (const r of rows) {
          const name = kernelName(r);
          const qw = r.dtype === "q8_f32" ? q8w : q4w;
          let run: () => void;
          let weightBytes: number;
          if (r.sig === "f32gemm") {
            const f = kernelFn(kern, { ...r, sig: "f32gemm" });
            run = () => f(px, pw, pb, y, m, n, k);
            weightBytes = tensorBytes("f32", [n, k]).data;
          } else {
            const fmt = tensorBytes(r.dtype === "q8_f32" ? "q8" : "q4", [n, k]);
            weightBytes = fmt.data + fmt.scales + (r.dtype === "q8_f32" ? n * 4 : 0);
            if (r.sig === "qgemv") {
              const f = kernelFn(kern, { ...r, sig: "qgemv" });
              run = () => f(xq, xs, qw.data, qw.scales, qw.aux, pb, y, n, k);
            } else {
              const f = kernelFn(kern, { ...r, sig: "qgemm" });
              run = () => f(xq, xs, qw.data, qw.scales, qw.aux, pb, y, m, n, k);
            }
          }
          const s = await time(run);
          let streamedS: number | null = null;
          if (r.sig === "qgemv" && r.isa !== "scalar") {
            const f = kernelFn(kern, { ...r, sig: "qgemv" });
            const src = r.dtype === "q8_f32" ? q8 : q4;
            const copies = Math.max(2, Math.ceil(STREAM_BYTES / weightBytes));
            const ws = (streamCopies[r.dtype] ??= Array.from({ length: copies }, () => ({
              data: h.put(src.data),
              scales: h.put(src.scales),
            })));
            let c = 0;
            streamedS = await time(() => {
              const wc = ws[c];
              c = (c + 1) % ws.length;
              f(xq, xs, wc.data, wc.scales, qw.aux, pb, y, n, k);
            });
          }
          const gops = (2 * m * n * k) / s / 1e9;
          const peak = peakOf(r);
          const res: KernelResult = {
            name,
            shape,
            gops,
            peak_fraction: peak ? gops / peaks[peak] : null,
            vs_ort: peerS === null ? null : peerS / s,
            us: s * 1e6,
          };
          if (r.sig !== "f32gemm") {
            res.quant_us = quantS * 1e6;
            res.vs_ort_with_quant = peerS === null ? null : peerS / (s + quantS);
          }
          if (m === 1) res.gbps = weightBytes / s / 1e9;
          if (streamedS !== null) res.streamed_gops = (2 * m * n * k) / streamedS / 1e9;
          entries.push(res);
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
  const ops = o.ops ? await runOps(o, o.ops, (fn, share) => time(fn, o.minMs * share)) : [];
  for (const r of ops) log(`${r.shape} ${r.name} ${r.us.toFixed(1)} us`);
  await measurePeaks(); // again at the end: the peak is the best seen in the run
  for (const r of kernels) {
    const row = KERNELS.find((t) => kernelName(t) === r.name);
    const peak = row ? peakOf(row) : null;
    if (row) r.peak_fraction = peak ? r.gops / peaks[peak] : null;
  }
  return { int8_dot: rdotLowering(o.relaxed), peaks, kernels, ops };
}

/** Rows (M) and (K, N) pairs of a kernel benchmark, and the dimensions of its ops. */
export interface BenchShapes {
  rows: number[];
  shapes: [number, number][];
  ops?: OpShapes;
}

/** The query string that carries rows, shapes and op dimensions to the workerd bench worker. */
export function shapesQuery({ rows, shapes, ops }: BenchShapes): string {
  const q = `rows=${rows.join(",")}&shapes=${shapes.map(([k, n]) => `${k}x${n}`).join(",")}`;
  return ops ? `${q}&ops=${encodeURIComponent(JSON.stringify(ops))}` : q;
}

/** The rows, shapes and op dimensions of a query written by `shapesQuery`. */
export function parseShapesQuery(q: URLSearchParams): BenchShapes {
  const rows = (q.get("rows") ?? "").split(",").map(Number);
  const shapes = (q.get("shapes") ?? "").split(",").map((s) => s.split("x").map(Number) as [number, number]);
  const ops = q.get("ops");
  return { rows, shapes, ...(ops ? { ops: JSON.parse(ops) as OpShapes } : {}) };
}
