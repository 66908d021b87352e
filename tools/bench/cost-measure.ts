// What npm run bench:cost and bench:jpeg share: requests measured in workerd (tools/bench/cost-worker.ts
// through wrangler's unstable_dev), the host's name for the report, and a resize for test pictures.
import { readFileSync } from "node:fs";
import { unstable_dev } from "wrangler";
import type { KernelBuild } from "../eval/node";
import type { CostJob, CostJobRequest, CostRecord } from "./cost-worker";
import { seeded } from "../../wasm/tools";
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

/** What a bracketed measurement returns: the records in the order given, and the sentinels' before and after. */
export interface Bracketed {
  platform: string;
  records: CostRecord[];
  before: CostRecord[];
  after: CostRecord[];
}

/**
 * `measure` of `requests` between two runs of `sentinels` (the same fixed requests), after a warm-up run of
 * them (a fresh isolate runs its first requests before V8 has optimised the kernels): the sentinels' times
 * before and after tell whether the host held its speed meanwhile (`hostDrift`). With `seed` the requests
 * run in a shuffled order (records still returned in the order given): a slow spell of the host then
 * falls on every method and budget a little instead of on the few cells measured during it.
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
  const k = sentinels.length;
  const run = await measure(
    weights,
    images,
    [...sentinels, ...sentinels, ...order.map((i) => requests[i]), ...sentinels],
    kernels,
  );
  const records = new Array<CostRecord>(requests.length);
  order.forEach((i, j) => (records[i] = run.records[2 * k + j]));
  return {
    platform: run.platform,
    records,
    before: run.records.slice(k, 2 * k),
    after: run.records.slice(2 * k + requests.length),
  };
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
