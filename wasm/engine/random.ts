// The engine's one seeded generator (sampling, the random pruning baseline, test inputs): the same
// sequence in every runtime, so a seed reproduces a request.

/** Mulberry32: a small seeded generator in [0, 1) (deterministic across runtimes). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
