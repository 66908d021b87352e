import { describe, expect, it } from "vitest";
import { arena, BUILDS, kernelByName, loadBuild, namesOf, rng } from "../../helpers/kernels";
import { q8WeightSums } from "../../../wasm/quant";

describe.each(BUILDS)("q8_weight_sums ($name build)", ({ name: build, module }) => {
  it.each([
    [1, 1],
    [3, 15],
    [4, 16],
    [5, 17],
    [2, 100],
    [7, 1024],
  ])("N=%i K=%i: both variants give the exact integer row sums", async (n, kk) => {
    const k = await loadBuild(module);
    const m = arena(k);
    const r = rng(n * 31 + kk);
    // Row 0 at the positive extreme, row 1 (when present) at the negative one, the rest random.
    const w = Int8Array.from({ length: n * kk }, (_, i) =>
      i < kk ? 127 : i < 2 * kk ? -127 : Math.floor(r() * 255) - 127,
    );
    const pw = m.i8(w);
    for (const name of namesOf("q8", "weight_sums", build)) {
      const out = m.alloc(n * 4);
      kernelByName(k, name, "weightSums")(pw, out, n, kk);
      expect(new Int32Array(k.memory.buffer, out, n).slice(), name).toEqual(q8WeightSums(w, n, kk));
    }
    expect(q8WeightSums(w, n, kk)[0]).toBe(127 * kk);
  });
});
