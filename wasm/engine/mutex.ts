// One request at a time per model (its activation buffers and KV caches are shared).

/**
 * Serialises requests on one model: its activation buffers and KV caches serve one at a time.
 * Waiters poll on their own timers instead of awaiting a promise that the holder resolves: workerd
 * forbids settling a promise from another request's context (the waiter then hangs), and a request's
 * own timer always fires in its own context.
 */
export class Mutex {
  private held = false;
  /** Resolves with the release function once the lock is free; polls every `pollMs`. */
  async acquire(pollMs = 1): Promise<() => void> {
    while (this.held) await new Promise<void>((r) => setTimeout(r, pollMs));
    this.held = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held = false;
    };
  }
}
