// A per-request CPU budget -> the pruning budget (docs/cost.md): among a method's budget points in the
// model's cost table (most tokens first), the first whose predicted cost -- image decode, time to first
// token and every decode step up to the request's token limit -- fits the budget, with the row's safety
// factor for the prediction's own error and the host's pace now (wasm/engine/pace.ts: measured over
// predicted on the isolate's last requests; 1 where clocks do not run). An adaptive method
// (ATP keeps more on busier images) is planned at its 95th-percentile count, so that the budget holds for
// nearly every instance, not for the mean one.
import type { VisionReduction } from "../pruning/vision";
import {
  predictCost,
  type BudgetPoint,
  type CostPrediction,
  type PlatformCost,
  type RequestWork,
} from "./cost";

/** What the request will compute apart from the pruning. */
export interface BudgetRequest extends Omit<
  RequestWork,
  "visualPerLayer" | "pruneMs" | "visionRows" | "visionCached" | "decodeSkipped"
> {
  /**
   * Whether the model has this image's vision output after `vision` cached (Model.cachedVision); a point
   * whose vision output is cached costs no encoder. Default: nothing cached.
   */
  visionCached?: (vision: VisionReduction | null) => boolean;
  /**
   * false: the image was not decoded (the Worker skips it for an image whose vision output it expects
   * cached), so a point whose vision output is cached costs no decode either, and one that is not pays
   * for the decode it then needs. Default true (decoded: its cost counts at every point).
   */
  imageDecoded?: boolean;
}

/** The chosen point and what it is predicted to cost. */
export interface BudgetChoice {
  point: BudgetPoint;
  /** The table's prediction (its rates as measured). */
  predicted: CostPrediction;
  /** The host's pace the plan used: predicted x pace is what the request should cost on this host now. */
  pace: number;
}

/** No point fits: the least a request like this one can cost with `method` (null: no points at all). */
export class BudgetTooSmall extends Error {
  constructor(
    readonly method: string,
    readonly budgetMs: number,
    readonly minimumMs: number | null,
  ) {
    super(
      minimumMs === null
        ? `method '${method}' has no CPU budget points in this model's cost table`
        : `cpu_budget_ms ${budgetMs} is below the ${Math.ceil(minimumMs)} ms this request needs at least with method '${method}' (its most aggressive pruning, image decode and max_tokens of decode included)`,
    );
    this.name = "BudgetTooSmall";
  }
}

/** The work of `req` at `point`, planned at the point's 95th-percentile count. */
export function workAt(point: BudgetPoint, req: BudgetRequest): RequestWork {
  const ratio = Math.max(1, point.p95Ratio);
  const { visionCached, imageDecoded, ...work } = req;
  const cached = visionCached?.(point.vision ?? null) ?? false;
  return {
    ...work,
    visualPerLayer: point.visualPerLayer.map((v) => Math.min(req.numVisual, v * ratio)),
    pruneMs: point.pruneMs,
    ...(point.visionRows ? { visionRows: point.visionRows } : {}),
    visionCached: cached,
    decodeSkipped: cached && imageDecoded === false,
  };
}

/**
 * The point of `method` with the most tokens whose predicted cost, times the row's safety factor and the
 * host's `pace` (default 1: the table's speed), fits `budgetMs`.
 */
export function chooseBudget(
  row: PlatformCost,
  method: string,
  budgetMs: number,
  req: BudgetRequest,
  pace = 1,
): BudgetChoice {
  const points = Object.hasOwn(row.methods, method) ? row.methods[method] : [];
  let minimum: number | null = null;
  for (const point of points) {
    const predicted = predictCost(row.rates, workAt(point, req));
    const planned = predicted.totalMs * Math.max(1, row.safety ?? 1) * pace;
    if (planned <= budgetMs) return { point, predicted, pace };
    minimum = minimum === null ? planned : Math.min(minimum, planned);
  }
  throw new BudgetTooSmall(method, budgetMs, minimum);
}
