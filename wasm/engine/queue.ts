// The model's queue: requests use one model's buffers and KV caches one at a time, in arrival order.
//
// A request takes a ticket when it is admitted (`enter`, synchronous, so the order is the arrival order),
// waits for its turn (`turn`), holds the model while it computes and leaves (`leave`). Every entry shows
// it is alive by `touch` (the holder at each token, a waiter each time it polls); an entry silent for
// `leaseMs` is dropped and marked `lost`, so a request whose code stopped running (its consumer dropped
// the token stream, its continuation was discarded) cannot keep the model from everyone after it. The
// holder checks `lost` after each suspension and stops without touching the buffers again.
//
// Waiters poll on their own timers instead of awaiting a promise the holder settles: workerd forbids
// settling a promise from another request's context (the waiter then hangs), and a request's own timer
// always fires in its own context. The queue also keeps the mean time a request holds the model, from
// which admission (worker/serve/answer.ts) predicts waits and Retry-After.
import { now } from "./clock";

/** A place in the queue. */
export interface Ticket {
  readonly id: number;
  /** True once the queue dropped this entry (silent past the lease); the holder must stop. */
  readonly lost: boolean;
}

interface Entry extends Ticket {
  lost: boolean;
  /** What the request keeps in memory while it waits (its decoded image), bytes. */
  bytes: number;
  seenAt: number;
  heldSince: number | null;
}

/** Thrown by `turn` when the waiter gives up (its signal aborted) or was dropped. */
export class QueueLeft extends Error {
  constructor(readonly why: "aborted" | "lost") {
    super(why === "aborted" ? "the request left the queue" : "the request was dropped from the queue");
  }
}

/** Options of a queue. */
export interface QueueOptions {
  /** An entry silent this long is dropped (default 10 s: far above one step of the model). */
  leaseMs?: number;
  /** Poll period of the waiter at the head, and of the others (ms). */
  headPollMs?: number;
  tailPollMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ModelQueue {
  leaseMs: number;
  private readonly headPollMs: number;
  private readonly tailPollMs: number;
  /** In arrival order; entries[0] is the holder when one holds. */
  private entries: Entry[] = [];
  private nextId = 1;
  private meanHoldMs = 0;
  private holds = 0;
  /** Entries dropped for silence (the tests and /health read it). */
  dropped = 0;

  constructor(options: QueueOptions = {}) {
    this.leaseMs = options.leaseMs ?? 10_000;
    this.headPollMs = options.headPollMs ?? 1;
    this.tailPollMs = options.tailPollMs ?? 4;
  }

  /** Requests holding or waiting. */
  get length(): number {
    return this.entries.length;
  }

  /** Bytes the requests in the queue keep (what they declared on entering). */
  get bytes(): number {
    let n = 0;
    for (const e of this.entries) n += e.bytes;
    return n;
  }

  /** Requests waiting (not holding). */
  get waiting(): number {
    return this.entries.length - (this.holder ? 1 : 0);
  }

  private get holder(): Entry | undefined {
    const h = this.entries[0];
    return h && h.heldSince !== null ? h : undefined;
  }

  /** Mean time a request held the model, over the last ~16 (0 before the first). */
  get holdMs(): number {
    return this.meanHoldMs;
  }

  /**
   * Predicted wait of a request entering now: the holder's remaining time (at least a tenth of a mean
   * hold) plus one mean hold per waiter.
   */
  expectedWaitMs(): number {
    const h = this.holder;
    const mean = this.meanHoldMs;
    const rest = h ? Math.max(mean - (now() - h.heldSince!), mean / 10) : 0;
    return rest + this.waiting * mean;
  }

  /** Predicted time until everything in the queue now has finished. */
  drainMs(): number {
    return this.expectedWaitMs() + this.meanHoldMs;
  }

  /** Takes a place at the back of the queue for a request that keeps `bytes` in memory meanwhile. */
  enter(bytes = 0): Ticket {
    const e: Entry = { id: this.nextId++, lost: false, bytes, seenAt: now(), heldSince: null };
    this.entries.push(e);
    return e;
  }

  /** Marks `t` alive. */
  touch(t: Ticket): void {
    (t as Entry).seenAt = now();
  }

  /**
   * Waits until `t` is first and nobody holds the model, then makes it the holder. When it throws
   * (QueueLeft: the ticket was dropped as silent, or the signal aborted) the ticket is out of the queue.
   */
  async turn(t: Ticket, signal?: AbortSignal): Promise<void> {
    const e = t as Entry;
    for (;;) {
      if (e.lost) throw new QueueLeft("lost");
      if (signal?.aborted) {
        this.leave(e);
        throw new QueueLeft("aborted");
      }
      e.seenAt = now();
      this.dropSilent();
      if (this.entries[0] === e) {
        e.heldSince = now();
        return;
      }
      await sleep(this.entries.indexOf(e) === 1 ? this.headPollMs : this.tailPollMs);
    }
  }

  /** Leaves the queue (holder or waiter); idempotent. A holder's time feeds the mean hold. */
  leave(t: Ticket): void {
    const e = t as Entry;
    const i = this.entries.indexOf(e);
    if (i < 0) return;
    this.entries.splice(i, 1);
    if (e.heldSince !== null && !e.lost) this.recordHold(now() - e.heldSince);
  }

  private recordHold(ms: number): void {
    this.holds++;
    const w = Math.max(1 / this.holds, 1 / 16);
    this.meanHoldMs += w * (ms - this.meanHoldMs);
  }

  /** Drops entries silent for longer than the lease (called by the living waiters as they poll). */
  private dropSilent(): void {
    const t = now();
    for (const e of [...this.entries]) {
      if (t - e.seenAt > this.leaseMs) {
        e.lost = true;
        this.entries.splice(this.entries.indexOf(e), 1);
        this.dropped++;
        console.error(`model queue: dropped request ${e.id}, silent for ${Math.round(t - e.seenAt)} ms`);
      }
    }
  }
}
