// ShapesVQA scoring (docs/data.md): exact match per family, captions also by per-object F1 over
// "colour shape" items, the mean over families, and the prior-only control (most frequent train answer
// per family). Pure functions over answer strings: the eval tool feeds them model or baseline predictions.
import { FAMILIES, type Family } from "./vocab";

/** A scored item: the question's family, the gold answer, and a predicted answer. */
export interface Prediction {
  readonly family: Family;
  readonly answer: string;
  readonly prediction: string;
}

/** Per-family result: number of questions, exact-match accuracy, and (caption only) mean per-object F1. */
export interface FamilyScore {
  readonly n: number;
  readonly exact: number;
  readonly f1?: number;
}

/** A full report: per family, and the unweighted mean of exact match over the families present. */
export interface ScoreReport {
  readonly families: Partial<Record<Family, FamilyScore>>;
  readonly meanExact: number;
}

/** Canonical answer text: lower case, single spaces, no space before "," or "?". */
export function normalizeAnswer(s: string): string {
  return s
    .toLowerCase()
    .replace(/\s+/g, " ")
    .replace(/ ([,?])/g, "$1")
    .trim();
}

/** Whether a prediction equals the gold answer after normalisation. */
export const exactMatch = (prediction: string, answer: string): boolean =>
  normalizeAnswer(prediction) === normalizeAnswer(answer);

/** Caption items: "red square, blue circle" -> ["red square", "blue circle"] (empty items dropped). */
export function parseCaption(s: string): string[] {
  return normalizeAnswer(s)
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

/** Per-object F1 between two captions, counting items as a multiset (order ignored). Both empty: 1. */
export function captionF1(prediction: string, answer: string): number {
  const pred = parseCaption(prediction);
  const gold = parseCaption(answer);
  if (pred.length === 0 && gold.length === 0) return 1;
  const left = new Map<string, number>();
  for (const g of gold) left.set(g, (left.get(g) ?? 0) + 1);
  let hit = 0;
  for (const p of pred) {
    const k = left.get(p) ?? 0;
    if (k > 0) {
      hit++;
      left.set(p, k - 1);
    }
  }
  if (hit === 0) return 0;
  const precision = hit / pred.length;
  const recall = hit / gold.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Scores predictions per family (exact match; captions also F1) and averages exact match over families. */
export function score(items: Iterable<Prediction>): ScoreReport {
  const acc = new Map<Family, { n: number; exact: number; f1: number }>();
  for (const it of items) {
    const a = acc.get(it.family) ?? { n: 0, exact: 0, f1: 0 };
    a.n++;
    if (exactMatch(it.prediction, it.answer)) a.exact++;
    if (it.family === "caption") a.f1 += captionF1(it.prediction, it.answer);
    acc.set(it.family, a);
  }
  const families: Partial<Record<Family, FamilyScore>> = {};
  let sum = 0;
  for (const f of FAMILIES) {
    const a = acc.get(f);
    if (!a) continue;
    families[f] = { n: a.n, exact: a.exact / a.n, ...(f === "caption" ? { f1: a.f1 / a.n } : {}) };
    sum += a.exact / a.n;
  }
  return { families, meanExact: acc.size ? sum / acc.size : 0 };
}

/** The prior-only control: the most frequent answer per family (ties: the alphabetically first). */
export function priorAnswers(
  train: Iterable<{ family: Family; answer: string }>,
): Partial<Record<Family, string>> {
  const counts = new Map<Family, Map<string, number>>();
  for (const { family, answer } of train) {
    const m = counts.get(family) ?? new Map<string, number>();
    const a = normalizeAnswer(answer);
    m.set(a, (m.get(a) ?? 0) + 1);
    counts.set(family, m);
  }
  const out: Partial<Record<Family, string>> = {};
  for (const [family, m] of counts) {
    let best = "";
    let bestN = -1;
    for (const [a, n] of m) if (n > bestN || (n === bestN && a < best)) [best, bestN] = [a, n];
    out[family] = best;
  }
  return out;
}

/** Predictions of the prior-only control on `items` (families never seen in train predict ""). */
export function priorPredictions(
  prior: Partial<Record<Family, string>>,
  items: Iterable<{ family: Family; answer: string }>,
): Prediction[] {
  return [...items].map((it) => ({
    family: it.family,
    answer: it.answer,
    prediction: prior[it.family] ?? "",
  }));
}

/** Exact-match accuracy per family and `mean`, the reports' `accuracy` table. */
export function accuracyTable(report: ScoreReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [f, r] of Object.entries(report.families)) out[f] = r.exact;
  out.mean = report.meanExact;
  return out;
}
