// What npm run bench:cost and bench:jpeg share: requests measured in workerd (tools/bench/cost-worker.ts
// through wrangler's unstable_dev), the host's name for the report, and a resize for test pictures.
import { readFileSync } from "node:fs";
import { unstable_dev } from "wrangler";
import type { KernelBuild } from "../eval/node";
import type { CostJob, CostJobRequest, CostRecord } from "./cost-worker";
import { seeded } from "../../wasm/tools";
import { HostPace } from "../../wasm/index";
import { packFiles } from "./model-io";

/** Requests per POST to the bench worker (keeps each response small). */
const CHUNK = 600;

/** The CPU model and its int8 dot-product extensions, from /proc/cpuinfo. */
export function hostName(): string {
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    const model = /model name\s*:\s*(.+)/.exec(info)?.[1] ?? "unknown CPU";
    const flags = /flags\s*:\s*(.+)/.exec(info)?.[1].split(" ") ?? [];
    const vnni = ["avx512_vnni", "avx_vnni", "amx_int8"].filter((f) => flags.includes(f));
    return `${model} (${vnni.length ? vnni.join(", ") : "no VNNI"})`;
  } catch {
    return "unknown CPU";
  }
}

/** Runs `requests` in workerd, in chunks; `images` are the encoded files they name. */
export async function measure(
  weights: Map<string, Uint8Array>,
  images: Map<string, Uint8Array>,
  requests: CostJobRequest[],
  kernels: KernelBuild,
): Promise<{ platform: string; records: CostRecord[] }> {
  const worker = await unstable_dev(new URL("./cost-worker.ts", import.meta.url).pathname, {
    config: new URL("./cost.wrangler.toml", import.meta.url).pathname,
    logLevel: "warn",
    // no reload on source edits: a rebuild mid-run answers 503 "worker restarted mid-request"
    experimental: { disableExperimentalWarning: true, watch: false },
  });
  const records: CostRecord[] = [];
  let platform = "";
  try {
    for (let s = 0; s < requests.length; s += CHUNK) {
      const chunk = requests.slice(s, s + CHUNK);
      const used = new Set(chunk.map((r) => r.image));
      const job: CostJob = { kernels: kernels === "simd" ? "simd" : "relaxed", requests: chunk };
      const files = new Map(weights);
      for (const k of used) files.set(k, images.get(k)!);
      files.set("__job.json", new TextEncoder().encode(JSON.stringify(job)));
      const res = await worker.fetch("/", { method: "POST", body: packFiles(files) });
      if (!res.ok) throw new Error(`cost worker answered ${res.status}: ${await res.text()}`);
      const out = (await res.json()) as { platform: string; records: CostRecord[] };
      platform = out.platform;
      records.push(...out.records);
      process.stdout.write(`\r  measured ${records.length}/${requests.length}`);
    }
  } finally {
    process.stdout.write("\n");
    await worker.stop();
  }
  return { platform, records };
}

/** A permutation of 0..n-1 drawn from `seed` (Fisher-Yates on the engine's seeded generator). */
export function shuffledOrder(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const rand = seeded(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** The host's speed at one point of a run: the mean TTFT of the sentinels measured there. */
export interface SpeedProbe {
  /** Requests of the measured list that ran before this probe (0: before them all). */
  at: number;
  /** Mean TTFT of the probe's sentinel requests. */
  ttftMs: number;
}

/**
 * What a bracketed measurement returns: the records in the order given, the sentinels' before and after,
 * and the speed probes through the run (the before and after blocks included, first and last).
 */
export interface Bracketed {
  platform: string;
  records: CostRecord[];
  before: CostRecord[];
  after: CostRecord[];
  probes: SpeedProbe[];
  /** Position of each record (index in the order given) in the run: the `at` scale of `probes`. */
  position: number[];
}

/** Requests between two of measureBracketed's speed probes, and the sentinels each probe runs. */
export const PROBE_EVERY = 1000;
export const PROBE_SIZE = 20;

/** One request of a bracketed run: a sentinel (which, and where) or the j-th measured request in run order. */
export type RunSlot =
  { kind: "warm" | "before" | "after" | "probe"; sentinel: number; at: number } | { kind: "req"; j: number };

/**
 * The order of a bracketed run of `n` requests and `k` sentinels: the sentinels twice (a warm-up, then
 * `before`), the requests in blocks of PROBE_EVERY with the first PROBE_SIZE sentinels after each block but
 * the last, then the sentinels once more (`after`). `at`: requests run before the sentinel's block.
 */
export function runLayout(n: number, k: number): RunSlot[] {
  const slots: RunSlot[] = [];
  const block = (kind: "warm" | "before" | "after" | "probe", size: number, at: number) => {
    for (let s = 0; s < size; s++) slots.push({ kind, sentinel: s, at });
  };
  block("warm", k, 0);
  block("before", k, 0);
  for (let j = 0; j < n; j++) {
    slots.push({ kind: "req", j });
    if ((j + 1) % PROBE_EVERY === 0 && j + 1 < n) block("probe", Math.min(PROBE_SIZE, k), j + 1);
  }
  block("after", k, n);
  return slots;
}

/**
 * `measure` of `requests` between two runs of `sentinels` (the same fixed requests), after a warm-up run of
 * them (a fresh isolate runs its first requests before V8 has optimised the kernels), with the first
 * PROBE_SIZE sentinels again after every PROBE_EVERY requests (~2% more requests): the probes tell whether the host held its
 * speed through the run, and how fast it ran when each request did (`hostDrift`, `speedAt`; a shared VM
 * here changed speed ~1.65x within a minute, mid-phase, where probes at the ends alone did not see it).
 * With `seed` the requests run in a shuffled order (records still returned in the order given): a slow
 * spell of the host then falls on every method and budget a little instead of on the few cells measured
 * during it.
 */
export async function measureBracketed(
  weights: Map<string, Uint8Array>,
  images: Map<string, Uint8Array>,
  requests: CostJobRequest[],
  kernels: KernelBuild,
  sentinels: CostJobRequest[],
  seed: number | null,
): Promise<Bracketed> {
  const order = seed === null ? requests.map((_, i) => i) : shuffledOrder(requests.length, seed);
  const slots = runLayout(order.length, sentinels.length);
  const run = slots.map((s) => (s.kind === "req" ? requests[order[s.j]] : sentinels[s.sentinel]));
  const out = await measure(weights, images, run, kernels);
  const records = new Array<CostRecord>(requests.length);
  const position = new Array<number>(requests.length);
  // the sentinel blocks but the warm-up, in run order: before, each probe, after
  const blocks = new Map<string, { at: number; recs: CostRecord[] }>();
  slots.forEach((s, n) => {
    const r = out.records[n];
    if (s.kind === "req") {
      records[order[s.j]] = r;
      position[order[s.j]] = s.j;
    } else if (s.kind !== "warm") {
      const key = `${s.kind}@${s.at}`;
      if (!blocks.has(key)) blocks.set(key, { at: s.at, recs: [] });
      blocks.get(key)!.recs.push(r);
    }
  });
  const probes = [...blocks.values()].map(({ at, recs }) => ({
    at,
    ttftMs: recs.reduce((a, r) => a + r.timings.ttftMs, 0) / recs.length,
  }));
  const block = (kind: "before" | "after") =>
    blocks.get(`${kind}@${kind === "before" ? 0 : order.length}`)?.recs ?? [];
  return {
    platform: out.platform,
    records,
    before: block("before"),
    after: block("after"),
    probes,
    position,
  };
}

/**
 * The host's sentinel TTFT at position `at` of a run: linear between the probes around it (the first or
 * last probe outside them). Dividing by a reference speed gives how much slower the host ran then.
 */
export function speedAt(probes: readonly SpeedProbe[], at: number): number {
  if (!probes.length) throw new Error("speedAt: no probes");
  const ps = [...probes].sort((a, b) => a.at - b.at);
  if (at <= ps[0].at) return ps[0].ttftMs;
  for (let i = 1; i < ps.length; i++)
    if (at <= ps[i].at) {
      const a = ps[i - 1];
      const b = ps[i];
      const f = b.at === a.at ? 1 : (at - a.at) / (b.at - a.at);
      return a.ttftMs + f * (b.ttftMs - a.ttftMs);
    }
  return ps[ps.length - 1].ttftMs;
}

/** One measured request as pacedRatios reads it. */
export interface PacedSample {
  /** Place in the run (requests run in this order). */
  position: number;
  /** Measured and predicted time to first token (what a model's pace observes). */
  ttftMs: number;
  predictedTtftMs: number;
  /** Measured and predicted CPU of the whole request (what a budget must cover). */
  cpuMs: number;
  predictedCpuMs: number;
  /** Whether its ratio is wanted (a request may feed the pace only). */
  counted: boolean;
}

/**
 * Each counted request's measured over predicted CPU, divided by the pace a model serving the run in order
 * would have had when the request started (wasm/engine/pace.ts, fed every request before it): the spread
 * around a plan made at the pace, which the table's safety factor covers. Returned in run order.
 */
export function pacedRatios(samples: readonly PacedSample[]): number[] {
  const pace = new HostPace();
  const out: number[] = [];
  for (const s of [...samples].sort((a, b) => a.position - b.position)) {
    if (s.counted) out.push(s.cpuMs / (s.predictedCpuMs * pace.factor));
    pace.observe(s.ttftMs, s.predictedTtftMs);
  }
  return out;
}

/** Largest relative difference between the sentinels' mean TTFT of each block: max / min - 1. */
export function hostDrift(blockMeansMs: number[]): number {
  return Math.max(...blockMeansMs) / Math.min(...blockMeansMs) - 1;
}

/** RGB -> RGBA with deterministic uniform grain of +-noise per channel (photo-like entropy for a JPEG). */
export function rgbaWithGrain(rgb: Uint8Array, noise: number, seed: number): Uint8Array {
  const n = rgb.length / 3;
  const rgba = new Uint8Array(n * 4);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const grain = noise ? ((s >>> 0) % (2 * noise + 1)) - noise : 0;
      rgba[i * 4 + c] = Math.max(0, Math.min(255, rgb[i * 3 + c] + grain));
    }
    rgba[i * 4 + 3] = 255;
  }
  return rgba;
}

/** Nearest-neighbour resize of a 96 x 96 RGB image to side x side. */
export function resizeNearest(rgb: Uint8Array, side: number): Uint8Array {
  const out = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const s = (Math.floor((y * 96) / side) * 96 + Math.floor((x * 96) / side)) * 3;
      out.set(rgb.subarray(s, s + 3), (y * side + x) * 3);
    }
  return out;
}
