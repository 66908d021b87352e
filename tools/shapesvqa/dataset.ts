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
/** Questions in each of val and test (data.md). */
export const EVAL_QUESTIONS = 2000;
/** Questions asked per image (distinct families); the trainer encodes each image once for all of them. */
export const QUESTIONS_PER_IMAGE = 4;

/** What to generate: a split, its seed (val/test: 0) and the number of questions. */
export interface SplitSpec {
  readonly split: SplitName;
  readonly seed: number;
  readonly count: number;
  /** Exact per-family quotas (val/test) instead of least-asked-first ordering (train). */
  readonly balanced: boolean;
}

/** One generated image: its index in the output file, the scene, and its questions. */
export interface GeneratedImage {
  readonly index: number;
  readonly scene: Scene;
  readonly qas: readonly QA[];
}

/** The spec for a split: val/test are fixed; train needs a seed >= 1 and a count. */
export function splitSpec(split: SplitName, seed?: number, count?: number): SplitSpec {
  if (split !== "train") {
    if (seed !== undefined && seed !== 0) throw new Error(`--seed is fixed for ${split}`);
    return { split, seed: 0, count: count ?? EVAL_QUESTIONS, balanced: true };
  }
  if (seed === undefined || !Number.isInteger(seed) || seed < 1) throw new Error("train needs --seed >= 1");
  if (count === undefined || !Number.isInteger(count) || count < 1)
    throw new Error("train needs --count >= 1");
  return { split, seed, count, balanced: false };
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
    for (const f of order) {
      if (qas.length === QUESTIONS_PER_IMAGE || produced + qas.length === spec.count) break;
      const qa = ASKERS[f](scene, rng, state);
      if (qa) {
        qas.push(qa);
        asked[f]++;
      }
    }
    if (qas.length === 0) continue;
    produced += qas.length;
    yield { index: images++, scene, qas };
  }
}
