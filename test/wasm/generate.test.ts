// The model's queue seen through generate: a generation that throws, one whose caller stops iterating
// early, and one whose caller drops it midway (never resumes it: a discarded continuation) each leave
// the model to the next request, which answers exactly as a fresh model does.
import { describe, expect, it } from "vitest";
import { createPolicy, loadModel, MemorySource, QueueLeft, type PruningPolicy } from "../../wasm/index";
import { BUILDS } from "../helpers/kernels";
import { randomImage, tinyModelFiles } from "./helpers/tiny";

const FILES = tinyModelFiles("q8");
const IMAGE = randomImage(40, 30);
const PROMPT = "what color is the square ?";
const relaxed = BUILDS.find((b) => b.name === "relaxed") ?? BUILDS[0];

/** A policy that throws in the middle of prefill. */
function throwing(): PruningPolicy {
  const p = createPolicy("none", {});
  p.afterLayer = () => {
    throw new Error("policy failed");
  };
  return p;
}

describe("generate and the model's queue", () => {
  it("frees the model after a throw, an early stop and a dropped generation; later answers are unchanged", async () => {
    const fresh = await loadModel(new MemorySource(FILES), { kernels: relaxed.module });
    const expected = await fresh.run(IMAGE, PROMPT, { maxTokens: 12 });

    const model = await loadModel(new MemorySource(FILES), { kernels: relaxed.module });
    model.queue.leaseMs = 50;
    // 1. the engine throws midway
    await expect(model.run(IMAGE, PROMPT, { policy: throwing() })).rejects.toThrow(/policy failed/);
    expect(model.queue.length).toBe(0);
    // 2. the caller stops after one token (for-await break -> return())
    for await (const ev of model.generate(IMAGE, PROMPT, { maxTokens: 12 })) if (ev.type === "token") break;
    expect(model.queue.length).toBe(0);
    // 3. the caller takes one token and never comes back
    const dropped = model.generate(IMAGE, PROMPT, { maxTokens: 12 });
    expect((await dropped.next()).value).toMatchObject({ type: "token", index: 0 });
    expect(model.queue.length).toBe(1);
    const after = await model.run(IMAGE, PROMPT, { maxTokens: 12 }); // waits out the 50 ms lease
    expect(after.ids).toEqual(expected.ids);
    expect(model.queue.dropped).toBe(1);
    // the dropped one, resumed late, stops without touching the model
    await expect(dropped.next()).rejects.toBeInstanceOf(QueueLeft);
    expect((await model.run(IMAGE, PROMPT, { maxTokens: 12 })).ids).toEqual(expected.ids);
  });

  it("serves concurrent generations in the order they were called, each as if alone", async () => {
    const model = await loadModel(new MemorySource(FILES), { kernels: relaxed.module });
    const prompts = ["what color is the square ?", "what shape is red ?", "how many ?", PROMPT];
    const alone = [];
    for (const p of prompts) alone.push((await model.run(IMAGE, p, { maxTokens: 8 })).ids);
    const finished: number[] = [];
    const together = await Promise.all(
      prompts.map(async (p, i) => {
        const done = await model.run(IMAGE, p, { maxTokens: 8 });
        finished.push(i);
        return done.ids;
      }),
    );
    expect(together).toEqual(alone);
    expect(finished).toEqual([0, 1, 2, 3]);
  });

  it("leaves the queue when its signal aborts while it waits", async () => {
    const model = await loadModel(new MemorySource(FILES), { kernels: relaxed.module });
    const holder = model.generate(IMAGE, PROMPT, { maxTokens: 4 });
    await holder.next();
    const abort = new AbortController();
    const waiting = model.run(IMAGE, PROMPT, { signal: abort.signal });
    await new Promise((r) => setTimeout(r, 5));
    expect(model.queue.length).toBe(2);
    abort.abort();
    await expect(waiting).rejects.toBeInstanceOf(QueueLeft);
    expect(model.queue.length).toBe(1);
    await holder.return(undefined);
    expect(model.queue.length).toBe(0);
  });
});
