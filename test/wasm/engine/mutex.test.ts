import { describe, expect, it } from "vitest";
import { Mutex } from "../../../wasm/engine/mutex";

describe("Mutex", () => {
  it("admits one holder at a time and hands over after release", async () => {
    const m = new Mutex();
    const log: string[] = [];
    const run = async (name: string) => {
      const release = await m.acquire();
      log.push(`${name}+`);
      await new Promise((r) => setTimeout(r, 5));
      log.push(`${name}-`);
      release();
    };
    await Promise.all([run("a"), run("b"), run("c")]);
    // Every enter is followed by the same holder's exit: no two holders overlap.
    for (let i = 0; i < log.length; i += 2) expect(log[i + 1]).toBe(log[i].replace("+", "-"));
    expect(log).toHaveLength(6);
  });

  it("ignores a second release from the same holder", async () => {
    const m = new Mutex();
    const r1 = await m.acquire();
    r1();
    const r2 = await m.acquire();
    r1(); // stale: must not free r2's hold
    let got = false;
    void m.acquire().then(() => (got = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(got).toBe(false);
    r2();
    await new Promise((r) => setTimeout(r, 10));
    expect(got).toBe(true);
  });
});
