// The engine's clock (timings in events, stats and traces).

/** Milliseconds from a monotonic clock (performance.now exists in Node and workerd). */
export const now = (): number => performance.now();
