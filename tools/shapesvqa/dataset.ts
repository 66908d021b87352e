// ShapesVQA splits: val and test are fixed 2,000-question sets balanced across the 7 families; train is
// an endless stream per seed. Every image draws from its own PRNG seeded by (split domain, seed, index),
// so the splits are disjoint streams; a split is a pure function of its spec (same bytes on every run).
import { ASKERS, type AskState, type QA } from "./questions";
import { hashSeed, Rng } from "./rng";
import { sampleScene, type Scene } from "./scene";
import { FAMILIES, type Family } from "./vocab";

export type SplitName = "val" | "test" | "train";

/** Seed-stream domains: distinct constants so val, test and every train seed draw disjoint streams. */
export const SPLIT_DOMAIN: Readonly<Record<SplitName, number>> = {
  val: 0x76616c31,
  test: 0x74737431,
  train: 0x74726e31,
};
/** Questions in each of val and test (docs/data.md). */
export const EVAL_QUESTIONS = 2000;
/** Questions asked per image (distinct families); the trainer encodes each image once for all of them. */
export const QUESTIONS_PER_IMAGE = 4;
/** Most questions a train image may carry (`--per-image`): beyond one per family, the families come round
 * again (caption excepted: it has one answer per scene) with different objects, no question twice. */
export const MAX_QUESTIONS_PER_IMAGE = 32;

/** What to generate: a split, its seed (val/test: 0) and the number of questions. */
export interface SplitSpec {
  readonly split: SplitName;
  readonly seed: number;
  readonly count: number;
  /** Exact per-family quotas (val/test) instead of least-asked-first ordering (train). */
  readonly balanced: boolean;
  /** Questions per image (val/test: QUESTIONS_PER_IMAGE). More per image is more training signal per
   * encoded image: the trainer's cost is mostly the image prefix, shared by an image's questions. */
  readonly perImage: number;
}

/** One generated image: its index in the output file, the scene, and its questions. */
export interface GeneratedImage {
  readonly index: number;
  readonly scene: Scene;
  readonly qas: readonly QA[];
}

/** The spec for a split: val/test are fixed; train needs a seed >= 1 and a count, and may ask more
 * questions per image. */
export function splitSpec(split: SplitName, seed?: number, count?: number, perImage?: number): SplitSpec {
  if (split !== "train") {
    if (seed !== undefined && seed !== 0) throw new Error(`--seed is fixed for ${split}`);
    if (perImage !== undefined && perImage !== QUESTIONS_PER_IMAGE)
      throw new Error(`--per-image is fixed for ${split}`);
    return { split, seed: 0, count: count ?? EVAL_QUESTIONS, balanced: true, perImage: QUESTIONS_PER_IMAGE };
  }
  if (seed === undefined || !Number.isInteger(seed) || seed < 1) throw new Error("train needs --seed >= 1");
  if (count === undefined || !Number.isInteger(count) || count < 1)
    throw new Error("train needs --count >= 1");
  perImage ??= QUESTIONS_PER_IMAGE;
  if (!Number.isInteger(perImage) || perImage < 1 || perImage > MAX_QUESTIONS_PER_IMAGE)
    throw new Error(`--per-image must be an integer in 1..${MAX_QUESTIONS_PER_IMAGE}`);
  return { split, seed, count, balanced: false, perImage };
}

/** Per-family quotas summing to `count` (the first `count % 7` families get one more). */
export function familyQuotas(count: number): Record<Family, number> {
  const q = {} as Record<Family, number>;
  FAMILIES.forEach(
    (f, i) => (q[f] = Math.floor(count / FAMILIES.length) + (i < count % FAMILIES.length ? 1 : 0)),
  );
  return q;
}

/** Generates the split image by image until `spec.count` questions have been produced. */
export function* generateSplit(spec: SplitSpec): Generator<GeneratedImage> {
  const state: AskState = { existAsked: 0 };
  const asked = {} as Record<Family, number>;
  for (const f of FAMILIES) asked[f] = 0;
  const quota = spec.balanced ? familyQuotas(spec.count) : null;
  let produced = 0;
  let images = 0;
  for (let i = 0; produced < spec.count; i++) {
    const rng = new Rng(hashSeed(SPLIT_DOMAIN[spec.split], spec.seed, i));
    const scene = sampleScene(rng);
    // Least-asked families first (random tie-break), so every prefix of a stream stays balanced.
    const open = FAMILIES.filter((f) => !quota || asked[f] < quota[f]);
    const order = rng.shuffled(open).sort((a, b) => asked[a] - asked[b]);
    const qas: QA[] = [];
    const full = () => qas.length === spec.perImage || produced + qas.length === spec.count;
    for (const f of order) {
      if (full()) break;
      const qa = ASKERS[f](scene, rng, state);
      if (qa) {
        qas.push(qa);
        asked[f]++;
      }
    }
    // Further rounds (only when perImage > one per family): every family but caption again, least-asked
    // first, skipping repeats; a round that adds nothing ends the image (small scenes have few questions).
    for (let added = spec.perImage > FAMILIES.length ? 1 : 0; !full() && added > 0;) {
      added = 0;
      const again = rng.shuffled(FAMILIES.filter((f) => f !== "caption")).sort((a, b) => asked[a] - asked[b]);
      for (const f of again) {
        if (full()) break;
        const before = { ...state };
        const qa = ASKERS[f](scene, rng, state);
        if (qa && !qas.some((q) => q.question === qa.question)) {
          qas.push(qa);
          asked[f]++;
          added++;
        } else Object.assign(state, before); // a repeat is not asked: exist keeps its yes/no alternation
      }
    }
    if (qas.length === 0) continue;
    produced += qas.length;
    yield { index: images++, scene, qas };
  }
}
