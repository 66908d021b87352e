import { describe, expect, it } from "vitest";
import { chartSvg, niceStep } from "../../../tools/report/chart";

const ticks = (svg: string) => [...svg.matchAll(/text-anchor="middle">([^<]*)%</g)].map((m) => m[1]);

describe("chart axes", () => {
  it("steps x gridlines by 1, 2 or 5 x 10^k", () => {
    expect(niceStep(0.57)).toBeCloseTo(0.1);
    expect(niceStep(1)).toBeCloseTo(0.1);
    expect(niceStep(1.1)).toBeCloseTo(0.2);
    expect(niceStep(37)).toBe(5);
    expect(niceStep(2.4e6)).toBe(5e5);
  });

  it("labels x at round values and ends the axis on one", () => {
    const svg = chartSvg(
      [
        {
          name: "a",
          points: [
            { x: 0.15, y: 0.4 },
            { x: 0.52, y: 0.8 },
          ],
        },
      ],
      {
        title: "t",
        xLabel: "x",
        yLabel: "y",
        xTick: (x) => `${(100 * x).toFixed(0)}%`,
        xMax: 1,
      },
    );
    expect(ticks(svg)).toEqual(["0", "10", "20", "30", "40", "50", "60"]);
  });
});
