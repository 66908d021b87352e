// The pure parts of the metrics: percentiles (checked against values worked out by hand, numpy's
// linear interpolation), the bucketed series, and the thumbnail's letterbox (the frame the model sees).
import { describe, expect, it } from "vitest";
import { latencySeries, percentiles, quantile } from "../../worker/metrics/stats";
import { thumbnail } from "../../worker/metrics/thumbnail";

describe("quantile / percentiles", () => {
  it("interpolates between ranks as numpy does", () => {
    const xs = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(quantile(xs, 0.5)).toBeCloseTo(5.5, 12);
    expect(quantile(xs, 0.95)).toBeCloseTo(9.55, 12);
    expect(quantile(xs, 0.99)).toBeCloseTo(9.91, 12);
    expect(quantile(xs, 0)).toBe(1);
    expect(quantile(xs, 1)).toBe(10);
    expect(quantile([], 0.5)).toBeNull();
  });

  it("sorts numerically, whatever the order given", () => {
    const p = percentiles([100, 9, 20, 3]);
    expect(p).toEqual({ count: 4, mean: 33, p50: 14.5, p95: 88, p99: 97.6 });
    expect(percentiles([])).toEqual({ count: 0, mean: null, p50: null, p95: null, p99: null });
  });
});

describe("latencySeries", () => {
  it("puts each request in its time bucket, bounds included", () => {
    const s = latencySeries(
      [
        { ts: 0, ttft_ms: 10, itl_ms: [1, 3] },
        { ts: 499, ttft_ms: 30, itl_ms: [2] },
        { ts: 1000, ttft_ms: 50, itl_ms: [] },
      ],
      0,
      1000,
      2,
    );
    expect(s.t).toEqual([0, 0.5]);
    expect(s.requests).toEqual([2, 1]);
    expect(s.ttft_p50).toEqual([20, 50]);
    expect(s.itl_p50).toEqual([2, null]);
  });
});

describe("thumbnail", () => {
  it("letterboxes a wide image into the square, centred, borders black", () => {
    // 8 x 4 red image -> 4 x 2 inside a 4 x 4 frame, rows 1..2
    const data = new Uint8Array(8 * 4 * 3);
    for (let i = 0; i < 32; i++) data[i * 3] = 200;
    const t = thumbnail({ data, width: 8, height: 4, channels: 3 }, 4);
    expect(t.size).toBe(4);
    const red = (x: number, y: number) => t.rgb[(y * 4 + x) * 3];
    expect([0, 1, 2, 3].map((y) => red(0, y))).toEqual([0, 200, 200, 0]);
    expect(t.rgb[(1 * 4 + 1) * 3 + 1]).toBe(0); // green stays 0
  });

  it("reads RGBA and averages within each pixel's box", () => {
    // 2 x 2 RGBA: a checkerboard of 0 and 100 in the blue channel -> 1 x 1 of 50
    const data = Uint8Array.from([0, 0, 0, 255, 0, 0, 100, 255, 0, 0, 100, 255, 0, 0, 0, 255]);
    const t = thumbnail({ data, width: 2, height: 2, channels: 4 }, 1);
    expect(Array.from(t.rgb)).toEqual([0, 0, 50]);
  });
});
