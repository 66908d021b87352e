// The host's pace (docs/cost.md, "The host's pace"): how fast this isolate's CPU runs now against the
// cost table's row, from the requests it has just served. A shared host changes speed in spells (a
// 2-vCPU VM here flipped between ~15 and ~24 ms per unpruned request every 10-30 s); a table measured in
// one spell then plans the next one ~1.6x wrong, and budgets overrun. Each finished request whose clock
// ran gives one ratio, measured time to first token over the table's prediction at the counts it really
// had; the pace is the median of the last WINDOW ratios (robust to a lone GC pause, and after a change of
// speed right again within WINDOW / 2 requests). Where clocks do not run (on Cloudflare's network
// CPU-bound code reads 0 ms) nothing is observed and the pace stays 1: the table as measured.

/** Ratios the median is taken over. */
export const PACE_WINDOW = 9;
/** Observations before the pace departs from 1. */
export const PACE_MIN_SAMPLES = 3;
/** Bounds of the pace: a ratio outside [1 / RATIO_LIMIT, RATIO_LIMIT] is not the host's speed. */
export const PACE_LIMITS = { low: 0.5, high: 3 };
const RATIO_LIMIT = 5;
/** Predictions below this many ms are left out (clock resolution: workerd's timers tick per 1 ms). */
const MIN_PREDICTED_MS = 2;

export class HostPace {
  private readonly ratios: number[] = [];
  private observed = 0;

  /**
   * One finished request: its measured time to first token and the table's prediction at its real counts.
   * Returns whether it counted (a frozen clock, a tiny prediction or an outlier ratio does not).
   */
  observe(measuredMs: number, predictedMs: number): boolean {
    if (!(measuredMs > 0) || !(predictedMs >= MIN_PREDICTED_MS)) return false;
    const ratio = measuredMs / predictedMs;
    if (!(ratio <= RATIO_LIMIT && ratio >= 1 / RATIO_LIMIT)) return false;
    this.ratios.push(ratio);
    if (this.ratios.length > PACE_WINDOW) this.ratios.shift();
    this.observed++;
    return true;
  }

  /** Measured over predicted now: the factor a plan multiplies the table's prediction by. */
  get factor(): number {
    if (this.ratios.length < PACE_MIN_SAMPLES) return 1;
    const s = [...this.ratios].sort((a, b) => a - b);
    const m = s.length >> 1;
    const median = s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
    return Math.min(PACE_LIMITS.high, Math.max(PACE_LIMITS.low, median));
  }

  /** Requests observed since the isolate started (0 where clocks do not run). */
  get samples(): number {
    return this.observed;
  }
}
