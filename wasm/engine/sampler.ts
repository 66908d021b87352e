// Token choice from the last logits: greedy (argmax kernel, ties to the lowest id) or temperature +
// nucleus (top-p) sampling from a seeded PRNG, so a request with a seed is reproducible everywhere.
import { seeded } from "./random";

/** Sampling options of one request. */
export interface SamplingOptions {
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Nucleus mass in (0, 1]; default 1 (no cut). */
  topP?: number;
  /** PRNG seed (default 0). */
  seed?: number;
}

/** Picks tokens for one request. */
export class Sampler {
  private readonly temperature: number;
  private readonly topP: number;
  private readonly random: () => number;

  constructor(opts: SamplingOptions = {}) {
    this.temperature = opts.temperature ?? 0;
    this.topP = opts.topP ?? 1;
    if (!(this.temperature >= 0)) throw new Error("temperature must be >= 0");
    if (!(this.topP > 0 && this.topP <= 1)) throw new Error("top_p must be in (0, 1]");
    this.random = seeded(opts.seed ?? 0);
  }

  get greedy(): boolean {
    return this.temperature === 0;
  }

  /** Samples from softmax(logits / T) restricted to the smallest top set of mass >= top_p. */
  sample(logits: Float32Array): number {
    const n = logits.length;
    let mx = -Infinity;
    for (let i = 0; i < n; i++) if (logits[i] > mx) mx = logits[i];
    const p = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += p[i] = Math.exp((logits[i] - mx) / this.temperature);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
    let keep = n;
    if (this.topP < 1) {
      let acc = 0;
      for (let i = 0; i < n; i++) {
        acc += p[order[i]] / sum;
        if (acc >= this.topP) {
          keep = i + 1;
          break;
        }
      }
    }
    let mass = 0;
    for (let i = 0; i < keep; i++) mass += p[order[i]];
    let r = this.random() * mass;
    for (let i = 0; i < keep; i++) {
      r -= p[order[i]];
      if (r < 0) return order[i];
    }
    return order[keep - 1];
  }
}
