// Matched budgets (`--keep F`): the knob of each training-free method that makes the mean fraction of
// visual tokens over ALL LLM layers (the paper's counting, PAPER.md) come closest to F. Closed forms or a
// bisection on the schedule; ATP's budget depends on the instance and is calibrated by measurement
// (tools/eval/calibrate.ts). Counts are rounded as the policies round them, so the fraction reached
// differs slightly from F; the evaluation reports the fraction actually reached.
import type { PolicyKnobs } from "./policy";
import { uniformGrid } from "./select";

/** Mean fraction over `layers` layers when `n0` tokens enter and counts[l] after each prune. */
function meanFraction(counts: number[], n0: number): number {
  return counts.reduce((a, b) => a + b, 0) / counts.length / n0;
}

/** FastV at K layers unpruned and keeping round(N (1 - ratio)) after: the per-layer counts. */
export function fastvCounts(layers: number, n: number, k: number, ratio: number): number[] {
  const kept = Math.max(1, Math.round(n * (1 - ratio)));
  return Array.from({ length: layers }, (_, l) => (l < k ? n : kept));
}

/** PyramidDrop's per-layer counts for stage ends `stages` and share `lambda`. */
export function pdropCounts(layers: number, n: number, stages: number[], lambda: number): number[] {
  const out: number[] = [];
  let alive = n;
  for (let l = 0; l < layers; l++) {
    out.push(alive);
    if (stages.includes(l)) alive = Math.max(1, Math.round(alive * lambda));
  }
  return out;
}

/** Knobs of `method` for a target mean fraction `keep` over `layers` layers of `n` visual tokens. */
export function knobsForKeep(
  method: "fastv" | "pdrop" | "grid",
  keep: number,
  layers: number,
  n: number,
  base: PolicyKnobs = {},
): PolicyKnobs {
  if (!(keep > 0 && keep <= 1)) throw new Error("--keep must be in (0, 1]");
  if (method === "fastv") {
    // the deepest K that still leaves tokens to keep: K full layers cost K / layers of the budget
    const k = Math.max(1, Math.min(base.k ?? 2, Math.ceil(keep * layers) - 1));
    const share = Math.max(0, Math.min(1, (keep * layers - k) / (layers - k)));
    return { ...base, k, ratio: Math.min(1 - 1 / n, 1 - share) };
  }
  if (method === "pdrop") {
    const stages = base.layers ?? [0, 2, 4];
    let lo = 1e-4;
    let hi = 1;
    for (let i = 0; i < 40; i++) {
      const mid = (lo + hi) / 2;
      if (meanFraction(pdropCounts(layers, n, stages, mid), n) > keep) hi = mid;
      else lo = mid;
    }
    const f = (x: number) => Math.abs(meanFraction(pdropCounts(layers, n, stages, x), n) - keep);
    return { ...base, layers: stages, lambda: f(lo) < f(hi) ? lo : hi };
  }
  const layer = base.layer ?? 0;
  const grid = Math.round(Math.sqrt(n));
  const want = ((keep * layers - (layer + 1)) * n) / (layers - layer - 1);
  // the uniform grid whose real size lands closest to the wanted count
  let best = 1;
  for (let t = 1; t <= n; t++) {
    const got = uniformGrid(grid, t).length;
    if (Math.abs(got - want) < Math.abs(uniformGrid(grid, best).length - want)) best = t;
  }
  return { ...base, layer, tokens: best };
}
