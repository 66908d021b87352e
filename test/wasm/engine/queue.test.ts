import { describe, expect, it } from "vitest";
import { ModelQueue, QueueLeft } from "../../../wasm/engine/queue";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe("ModelQueue", () => {
  it("serves requests one at a time in the order they entered, not the order they poll", async () => {
    const q = new ModelQueue();
    const tickets = [0, 1, 2, 3, 4].map(() => q.enter());
    const order: number[] = [];
    let holding = 0;
    let most = 0;
    // the last to enter asks first
    const runs = [...tickets].reverse().map(async (t, r) => {
      await sleep(r);
      await q.turn(t);
      holding++;
      most = Math.max(most, holding);
      order.push(tickets.indexOf(t));
      await sleep(3);
      holding--;
      q.leave(t);
    });
    await Promise.all(runs);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(1);
    expect(q.length).toBe(0);
    expect(q.holdMs).toBeGreaterThan(0);
  });

  it("takes a waiter whose signal aborts out of the queue; the next one is served", async () => {
    const q = new ModelQueue();
    const a = q.enter();
    const b = q.enter();
    const c = q.enter();
    await q.turn(a);
    const abort = new AbortController();
    const bTurn = q.turn(b, abort.signal);
    let cServed = false;
    const cTurn = q.turn(c).then(() => (cServed = true));
    abort.abort();
    await expect(bTurn).rejects.toBeInstanceOf(QueueLeft);
    expect(q.length).toBe(2);
    q.leave(a);
    await cTurn;
    expect(cServed).toBe(true);
  });

  it("drops a holder silent past the lease; the waiter behind it is served and the holder sees lost", async () => {
    const q = new ModelQueue({ leaseMs: 30 });
    const stalled = q.enter();
    await q.turn(stalled); // and never touches or leaves again
    const next = q.enter();
    const t0 = Date.now();
    await q.turn(next);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    expect(stalled.lost).toBe(true);
    expect(next.lost).toBe(false);
    expect(q.dropped).toBe(1);
    q.leave(stalled); // a late leave of a dropped entry changes nothing
    expect(q.length).toBe(1);
    await expect(q.turn(stalled)).rejects.toBeInstanceOf(QueueLeft);
  });

  it("keeps a holder that touches within the lease", async () => {
    const q = new ModelQueue({ leaseMs: 30 });
    const holder = q.enter();
    await q.turn(holder);
    const next = q.enter();
    let served = false;
    const turn = q.turn(next).then(() => (served = true));
    for (let i = 0; i < 8; i++) {
      await sleep(10);
      q.touch(holder);
    }
    expect(served).toBe(false);
    expect(holder.lost).toBe(false);
    q.leave(holder);
    await turn;
    expect(served).toBe(true);
  });

  it("adds up the bytes its entries keep", () => {
    const q = new ModelQueue();
    const a = q.enter(10);
    q.enter(20);
    expect(q.bytes).toBe(30);
    q.leave(a);
    expect(q.bytes).toBe(20);
  });

  it("predicts the wait from the mean hold and the queue's length", async () => {
    const q = new ModelQueue();
    expect(q.expectedWaitMs()).toBe(0);
    for (let i = 0; i < 3; i++) {
      const t = q.enter();
      await q.turn(t);
      await sleep(20);
      q.leave(t);
    }
    const mean = q.holdMs;
    expect(mean).toBeGreaterThanOrEqual(15);
    const holder = q.enter();
    await q.turn(holder);
    q.enter();
    q.enter();
    // the holder's remaining time (at most one mean) + one mean per waiter
    expect(q.expectedWaitMs()).toBeGreaterThanOrEqual(2 * mean);
    expect(q.expectedWaitMs()).toBeLessThanOrEqual(3 * mean + 1e-9);
    // the holder's remaining time shrinks as the clock runs, so bracket drainMs by two readings of the wait
    const before = q.expectedWaitMs();
    const drain = q.drainMs();
    const after = q.expectedWaitMs();
    expect(drain).toBeLessThanOrEqual(before + mean + 1e-9);
    expect(drain).toBeGreaterThanOrEqual(after + mean - 1e-9);
  });
});
