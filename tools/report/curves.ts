// Training curves from `training/train.py`'s runs/<run>/metrics.jsonl (a line per 10 steps with the loss
// and questions/s, a line per evaluation with `val` accuracy per family): runs chained by --init laid end
// to end on one axis of questions seen (runs on different machines compare on it, not on time), val
// accuracy smoothed over neighbouring evaluations (each sees 50 questions per family).

/** One evaluation line of metrics.jsonl; `val` holds accuracy per family, `mean`, `caption_f1`, `n`. */
export interface EvalPoint {
  step: number;
  /** Seconds of training in this run (train.py counts across --resume). */
  time: number;
  /** Questions trained on in this run up to this evaluation (from the loss lines' questions/s). */
  questions: number;
  val: Record<string, number>;
}

/** A run's evaluations and how long it trained. */
export interface RunCurve {
  name: string;
  evals: EvalPoint[];
  seconds: number;
  steps: number;
  questions: number;
}

/** Parses metrics.jsonl text, up to `lastStep` when given (the checkpoint the next run of a chain started
 * from, where a run went on after it). Throws on a line that is not JSON, naming the run and line. */
export function parseMetrics(name: string, text: string, lastStep = Infinity): RunCurve {
  const evals: EvalPoint[] = [];
  let seconds = 0;
  let steps = 0;
  let questions = 0;
  let lastTime = 0;
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let rec: { step: number; time: number; q_per_s?: number; val?: Record<string, number> };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      throw new Error(`${name}/metrics.jsonl line ${i + 1} is not JSON`);
    }
    if (rec.step > lastStep) return;
    seconds = Math.max(seconds, rec.time);
    steps = Math.max(steps, rec.step);
    if (rec.q_per_s !== undefined) {
      // a loss line covers the window since the line before it (evaluations included: ~a few % over)
      questions += rec.q_per_s * Math.max(0, rec.time - lastTime);
      lastTime = rec.time;
    }
    if (rec.val) evals.push({ step: rec.step, time: rec.time, questions, val: rec.val });
  });
  return { name, evals, seconds, steps, questions };
}

/** The evaluations of runs trained one after the other, with `time` and `questions` counted from the first
 * run's start. */
export function chain(runs: RunCurve[]): (EvalPoint & { run: string })[] {
  const out: (EvalPoint & { run: string })[] = [];
  let offset = 0;
  let seen = 0;
  for (const r of runs) {
    for (const e of r.evals)
      out.push({ ...e, time: offset + e.time, questions: seen + e.questions, run: r.name });
    offset += r.seconds;
    seen += r.questions;
  }
  return out;
}

/** Centred moving average of `ys` over `window` points (shorter at the ends). */
export function smooth(ys: number[], window: number): number[] {
  const h = Math.floor(window / 2);
  return ys.map((_, i) => {
    const part = ys.slice(Math.max(0, i - h), i + h + 1);
    return part.reduce((a, b) => a + b, 0) / part.length;
  });
}
