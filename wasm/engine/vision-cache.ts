// The vision outputs of recent images: a follow-up question about a picture already seen (a chat client
// sends the image again with every turn) skips preprocessing, the vision encoder and the projector, about
// half of a pruned request's CPU (docs/cost.md, "Repeated images"). The vision path reads the image alone,
// never the question, so its output is the same for every question about that image: what is stored is
// the projector's output rows and which patches they stand for, under the caller's content key for the
// image (the Worker's: the SHA-256 of the file's bytes) and the vision reduction that produced them.
// A least-recently-used map of at most `capacity` entries (~110 KB each for 144 patches x 192 floats).
import { visionReductionKey, type VisionReduction } from "../pruning/vision";

/**
 * Entries a model keeps: more than the Worker's queue can hold (worker/limits.ts MAX_QUEUED_REQUESTS, 32)
 * plus the request planning, so an entry a CPU budget counted on at admission (`has` touched it) is still
 * there at the request's turn: each request ahead stores at most one. ~4.4 MB at the full 144 patches.
 */
export const VISION_CACHE_ENTRIES = 40;

/** What the vision path produced for one image (and reduction). */
export interface CachedVision {
  /** The projector's output [rows, Dt], in grid order (before the scatter of a reduction). */
  visual: Float32Array;
  /** Grid index of each row, ascending [rows]. */
  grid: Int32Array;
  /** Patches each row stands for (1 unless merged) [rows]. */
  sizes: Float32Array;
  /** Rows each encoder layer ran on. */
  rowsPerLayer: number[];
}

/** The cache key of an image's vision output: its content key and the reduction (none, or layer,tokens,merge). */
export function visionCacheKey(imageKey: string, reduce: VisionReduction | null): string {
  return reduce ? `${imageKey}#${visionReductionKey(reduce)}` : imageKey;
}

/** A least-recently-used map of at most `capacity` entries (Map keeps insertion order: the first is the oldest). */
export class RecentMap<V> {
  private readonly entries = new Map<string, V>();
  hits = 0;
  misses = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new Error(`cache capacity ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry for `key`, now the most recently used; undefined (a miss) if absent. */
  get(key: string): V | undefined {
    const v = this.entries.get(key);
    if (v === undefined) this.misses++;
    else {
      this.entries.delete(key);
      this.entries.set(key, v);
      this.hits++;
    }
    return v;
  }

  /** Whether `key` is stored; makes it the most recently used (a plan counting on it keeps it longest). */
  has(key: string): boolean {
    const v = this.entries.get(key);
    if (v === undefined) return false;
    this.entries.delete(key);
    this.entries.set(key, v);
    return true;
  }

  /** Stores `v` under `key` as the most recently used, dropping the least recently used past capacity. */
  set(key: string, v: V): void {
    this.entries.delete(key);
    if (this.capacity === 0) return;
    this.entries.set(key, v);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Forgets every entry. */
  clear(): void {
    this.entries.clear();
  }

  /** The stored values, oldest first. */
  values(): IterableIterator<V> {
    return this.entries.values();
  }
}

/** The vision outputs of recent images, by visionCacheKey. */
export class VisionCache extends RecentMap<CachedVision> {
  /** Bytes of the stored arrays. */
  get bytes(): number {
    let n = 0;
    for (const v of this.values()) n += v.visual.byteLength + v.grid.byteLength + v.sizes.byteLength;
    return n;
  }
}
