// The kernel benchmark's second half: the ops around the GEMMs (normalisation, activations, softmax,
// attention, the activation quantizer, the residual add), every variant of the kernel table
// (wasm/kernels.ts) in the build of its ISA, on the model's shapes (`OpShapes`, from config.json by
// shapes.ts): the vision tower's rows and widths, and a text prefill. Time per call and per value, so a
// change to a helper every op shares (assembly/ops/math.ts) shows in each op it reaches. Platform-neutral
// like core.ts: no Node or Workers APIs.
import {
  isRelaxed,
  kernelFn,
  kernelName,
  KERNELS,
  scratchRegion,
  type KernelRow,
  type Kernels,
} from "../../wasm/tools";

/** The model dimensions the ops run at: the vision tower's and a text prefill's. */
export interface OpShapes {
  vision: { rows: number; hidden: number; intermediate: number; heads: number };
  text: { rows: number; hidden: number; intermediate: number; heads: number; kvHeads: number };
}

export interface OpResult {
  name: string; // the kernel's export
  shape: string; // what it ran on, e.g. "vision 144x512"
  us: number; // microseconds per call
  ns_per_value: number; // us per call over the values it computes (attention: the scores), in ns
}

/** One timed case: the kernel's ISA build runs `call` on operands laid out by `setup`. */
interface OpCase {
  row: KernelRow;
  shape: string;
  values: number;
  call: (k: Kernels, put: (n: number) => number) => () => void;
}

/** The op rows the benchmark times (the others are load-time or per-token bookkeeping). */
const OPS = ["add", "rmsnorm", "layernorm", "softmax", "gelu", "swiglu", "attention", "act_quantize"];

function cases(s: OpShapes): OpCase[] {
  const v = s.vision;
  const t = s.text;
  const out: OpCase[] = [];
  for (const row of KERNELS.filter((r) => OPS.includes(r.op))) {
    const add = (shape: string, values: number, call: OpCase["call"]) =>
      out.push({ row, shape, values, call });
    const f = (k: Kernels) => kernelFn(k, row) as unknown as (...a: number[]) => void;
    switch (row.op) {
      case "add":
        add(`vision ${v.rows}x${v.hidden}`, v.rows * v.hidden, (k, put) => {
          const [a, b] = [put(v.rows * v.hidden), put(v.rows * v.hidden)];
          return () => f(k)(a, b, a, v.rows * v.hidden);
        });
        break;
      case "rmsnorm":
        add(`text ${t.rows}x${t.hidden}`, t.rows * t.hidden, (k, put) => {
          const [x, w, o] = [put(t.rows * t.hidden), put(t.hidden), put(t.rows * t.hidden)];
          return () => f(k)(x, w, o, t.rows, t.hidden, 1e-5);
        });
        break;
      case "layernorm":
        add(`vision ${v.rows}x${v.hidden}`, v.rows * v.hidden, (k, put) => {
          const [x, w, b, o] = [put(v.rows * v.hidden), put(v.hidden), put(v.hidden), put(v.rows * v.hidden)];
          return () => f(k)(x, w, b, o, v.rows, v.hidden, 1e-5);
        });
        break;
      case "softmax":
        add(`vision ${v.rows}x${v.rows}`, v.rows * v.rows, (k, put) => {
          const [x, o] = [put(v.rows * v.rows), put(v.rows * v.rows)];
          return () => f(k)(x, o, v.rows, v.rows);
        });
        break;
      case "gelu":
        add(`vision ${v.rows}x${v.intermediate}`, v.rows * v.intermediate, (k, put) => {
          const [x, o] = [put(v.rows * v.intermediate), put(v.rows * v.intermediate)];
          return () => f(k)(x, o, v.rows * v.intermediate);
        });
        break;
      case "swiglu":
        add(`text ${t.rows}x${t.intermediate}`, t.rows * t.intermediate, (k, put) => {
          const n = t.rows * t.intermediate;
          const [g, u, o] = [put(n), put(n), put(n)];
          return () => f(k)(g, u, o, n);
        });
        break;
      case "act_quantize":
        add(`vision ${v.rows}x${v.intermediate}`, v.rows * v.intermediate, (k, put) => {
          const [x, xq, xs] = [put(v.rows * v.intermediate), put(v.rows * v.intermediate), put(v.rows)];
          return () => f(k)(x, xq, xs, v.rows, v.intermediate);
        });
        break;
      case "attention": {
        // vision: bidirectional over its own rows; text: causal prefill with grouped KV heads
        const runs = [
          { name: "vision", m: v.rows, hq: v.heads, hkv: v.heads, d: v.hidden / v.heads, causal: 0 },
          { name: "text", m: t.rows, hq: t.heads, hkv: t.kvHeads, d: t.hidden / t.heads, causal: 1 },
        ];
        for (const a of runs) {
          const scores = a.causal ? (a.m * (a.m + 1)) / 2 : a.m * a.m;
          add(`${a.name} ${a.m}x${a.m} h${a.hq}/${a.hkv} d${a.d}`, scores * a.hq, (k, put) => {
            const [ldQ, ldKv] = [a.hq * a.d, a.hkv * a.d];
            const [q, kk, vv, o, sc] = [
              put(a.m * ldQ),
              put(a.m * ldKv),
              put(a.m * ldKv),
              put(a.m * ldQ),
              put(2 * a.m),
            ];
            return () =>
              f(k)(q, ldQ, kk, vv, ldKv, o, ldQ, a.m, a.hq, a.hkv, a.d, a.m, a.causal, 0, sc, 0, 0, 0);
          });
        }
        break;
      }
    }
  }
  return out;
}

/** Times every case with `time` (seconds per call); scalar rows get a quarter of the time. */
export async function runOps(
  builds: { relaxed: Kernels; simd: Kernels },
  shapes: OpShapes,
  time: (fn: () => unknown, share: number) => Promise<number>,
): Promise<OpResult[]> {
  const results: OpResult[] = [];
  for (const c of cases(shapes)) {
    const k = isRelaxed(c.row.isa) ? builds.relaxed : builds.simd;
    const heap = scratchRegion(k, "bench ops");
    let seed = 1;
    // f32 operands filled with values in [-3, 3) (the activations' range), 64-byte aligned
    const put = (n: number) => {
      const p = heap.alloc(n * 4);
      const view = new Float32Array(k.memory.buffer, p, n);
      for (let i = 0; i < n; i++) view[i] = 3 * Math.sin(seed++ * 0.37);
      return p;
    };
    const run = c.call(k, put);
    const s = await time(run, c.row.isa === "scalar" ? 0.25 : 1);
    results.push({
      name: kernelName(c.row),
      shape: c.shape,
      us: s * 1e6,
      ns_per_value: (s * 1e9) / c.values,
    });
  }
  return results;
}
