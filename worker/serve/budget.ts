// `atp.cpu_budget_ms` (docs/cost.md): the request's CPU budget -> the pruning that fits it, from the
// model's cost table (wasm/engine/budget.ts chooseBudget). A budget the request names is binding: a request
// that cannot fit even at its method's most aggressive point is refused with 400 naming the least it needs.
// The deployment's default (CPU_BUDGET_MS in wrangler.toml [vars]) applies to requests that set neither a
// budget nor ATP's budget knob nor knobs, and is best effort: when nothing fits it takes the cheapest point.
// Time the request will wait in the queue comes off the budget when the deadline is nearer than the budget
// (a request that waits cannot spend past its deadline), so a queue drains within deadlines.
import {
  BudgetTooSmall,
  chooseBudget,
  predictCost,
  workAt,
  type BudgetChoice,
  type BudgetPoint,
  type ImageFormat,
  type ServedModel as Model,
  type MethodName,
  type VisionReduction,
} from "../../wasm/index";
import { badRequest } from "../errors";
import type { AtpRequest } from "../schemas/atp";

/** What the response reports of the budget. */
export interface BudgetReport {
  budget_ms: number;
  /** The budget after the predicted queue wait (equal to budget_ms unless the deadline is nearer). */
  effective_ms: number;
  source: "request" | "default";
  /** Whether the chosen point's prediction fits (false only for a default budget nothing fits). */
  fits: boolean;
  keep: number;
  knobs: Record<string, number | number[]>;
  /** The point's vision reduction (wasm/pruning/vision.ts), null for none. */
  vision: VisionReduction | null;
  /** The plan counted on the model's cached vision output of this image (no encoder; docs/cost.md). */
  vision_cached: boolean;
  /**
   * The cost model's prediction for this request at the chosen point (its 95th-percentile count), at the
   * host's pace now: the table's figure times `pace`.
   */
  predicted_ms: { ttft: number; total: number };
  /**
   * Measured over predicted time to first token on this isolate's last requests (wasm/engine/pace.ts):
   * how much slower (> 1) or faster the host runs now than when the table was measured; 1 where clocks do
   * not run (Cloudflare's network) or before the isolate has served a few requests.
   */
  pace: number;
  /** The cost table's row used, and the host it was measured on. */
  platform: string;
}

/**
 * The cost model's figures for a finished request at the counts it really had: what the dashboard shows
 * where clocks do not run (on Cloudflare's network CPU-bound code reads 0 ms), labelled as an estimate.
 */
export interface CostEstimate {
  ttft_ms: number;
  /** Mean of the decode steps the request made. */
  itl_ms: number;
  /** Image decode, ttft and every decode step. */
  cpu_ms: number;
  platform: string;
}

/** The estimate for a finished request, or null when the model has no cost table. */
export function estimateFor(
  model: Model,
  method: string,
  r: {
    imageFormat: ImageFormat;
    imagePixels: number;
    inputPixels: number;
    imageBytes: number;
    promptTokens: number;
    visualPerLayer: number[];
    visionRows: number[];
    visionCached: boolean;
    decodeSkipped: boolean;
    tokens: number;
  },
): CostEstimate | null {
  const row = model.costRow;
  if (!row) return null;
  const N = model.config.imageSeqLength;
  // the method's own work: its budget point nearest the fraction this request kept
  const kept = r.visualPerLayer.reduce((a, b) => a + b, 0) / r.visualPerLayer.length / N;
  const points = Object.hasOwn(row.methods, method) ? row.methods[method] : [];
  const near = points.reduce<BudgetPoint | null>(
    (a, p) => (a === null || Math.abs(p.keep - kept) < Math.abs(a.keep - kept) ? p : a),
    null,
  );
  const tokens = Math.max(1, r.tokens);
  const p = predictCost(row.rates, { ...r, numVisual: N, pruneMs: near?.pruneMs ?? 0, tokens });
  return {
    ttft_ms: p.ttftMs,
    itl_ms: tokens > 1 ? p.decodeMs / (tokens - 1) : 0,
    cpu_ms: p.totalMs,
    platform: `${row.key} (${row.host})`,
  };
}

/** What the choice needs to know of the request. */
export interface BudgetInput {
  method: MethodName;
  atp: AtpRequest;
  /** CPU_BUDGET_MS of the deployment, when set. */
  defaultMs: number | null;
  imageFormat: ImageFormat;
  imagePixels: number;
  inputPixels: number;
  imageBytes: number;
  promptTokens: number;
  maxTokens: number;
  /** Milliseconds left before the deadline once the predicted queue wait is over. */
  leftMs: number;
  /** Whether the model holds this image's vision output after a reduction (none: null). */
  visionCached: (vision: VisionReduction | null) => boolean;
  /** Whether the image is decoded already (else only a point without a cached vision output decodes it). */
  imageDecoded: boolean;
}

/** The budget's point and report, or null when no budget applies. Throws 400 ApiErrors. */
export function budgetFor(
  model: Model,
  b: BudgetInput,
): { choice: BudgetChoice; report: BudgetReport } | null {
  const asked = b.atp.cpu_budget_ms;
  const own = b.atp.budget !== undefined || b.atp.knobs !== undefined || b.atp.vision !== undefined;
  if (asked === undefined && (b.defaultMs === null || own)) return null;
  if (asked !== undefined && own) {
    throw badRequest(
      "atp.cpu_budget_ms chooses the pruning itself: send it without atp.budget, atp.knobs and atp.vision",
      "invalid_atp_options",
      b.atp.budget !== undefined ? "atp.budget" : b.atp.knobs !== undefined ? "atp.knobs" : "atp.vision",
    );
  }
  const cost = model.info.cost;
  const source = asked !== undefined ? "request" : "default";
  if (!cost) {
    if (source === "default") return null;
    throw badRequest(
      "This model has no cost table (npm run bench:cost -- --write), so it cannot plan a CPU budget",
      "cpu_budget_unavailable",
      "atp.cpu_budget_ms",
    );
  }
  const row = model.costRow;
  if (!row) return null;
  const pace = model.pace.factor;
  const budgetMs = asked ?? b.defaultMs!;
  const effective = Math.max(0, Math.min(budgetMs, b.leftMs));
  const req = {
    imageFormat: b.imageFormat,
    imagePixels: b.imagePixels,
    inputPixels: b.inputPixels,
    imageBytes: b.imageBytes,
    promptTokens: b.promptTokens,
    numVisual: model.config.imageSeqLength,
    tokens: b.maxTokens,
    visionCached: b.visionCached,
    imageDecoded: b.imageDecoded,
  };
  let choice: BudgetChoice;
  let fits = true;
  try {
    choice = chooseBudget(row, b.method, effective, req, pace);
  } catch (err) {
    if (!(err instanceof BudgetTooSmall)) throw err;
    const points = Object.hasOwn(row.methods, b.method) ? row.methods[b.method] : [];
    if (source === "request" || !points.length) {
      throw badRequest(
        `${err.message}${effective < budgetMs ? ` (${Math.round(budgetMs - effective)} ms of it go to the queue ahead before the deadline)` : ""}`,
        "cpu_budget_too_small",
        "atp.cpu_budget_ms",
      );
    }
    const cheapest = points[points.length - 1];
    choice = { point: cheapest, predicted: predictCost(row.rates, workAt(cheapest, req)), pace };
    fits = false;
  }
  return {
    choice,
    report: {
      budget_ms: budgetMs,
      effective_ms: effective,
      source,
      fits,
      keep: choice.point.keep,
      knobs: choice.point.knobs,
      vision: choice.point.vision ?? null,
      vision_cached: b.visionCached(choice.point.vision ?? null),
      predicted_ms: { ttft: choice.predicted.ttftMs * pace, total: choice.predicted.totalMs * pace },
      pace,
      platform: `${row.key} (${row.host})`,
    },
  };
}
