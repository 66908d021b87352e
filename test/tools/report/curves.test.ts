import { describe, expect, it } from "vitest";
import { chain, parseMetrics, smooth } from "../../../tools/report/curves";

const line = (o: object) => JSON.stringify(o);

describe("training curves", () => {
  it("parses a run's loss and val lines: evaluations, trained seconds and steps", () => {
    const text = [
      line({ step: 10, time: 12.5, loss: 1.2, q_per_s: 4 }),
      line({ step: 250, time: 300, val: { colour: 0.5, mean: 0.4, n: 350 } }),
      "",
      line({ step: 260, time: 312, loss: 0.9, q_per_s: 10 }),
    ].join("\n");
    const r = parseMetrics("run-a", text);
    expect(r).toEqual({
      name: "run-a",
      evals: [{ step: 250, time: 300, questions: 50, val: { colour: 0.5, mean: 0.4, n: 350 } }],
      seconds: 312,
      steps: 260,
      questions: 50 + 10 * (312 - 12.5),
    });
  });

  it("cuts a run at a step: later records ignored", () => {
    const text = [10, 20, 30]
      .map((step) => line({ step, time: step * 2, val: { mean: step, n: 7 } }))
      .join("\n");
    const r = parseMetrics("run-c", text, 20);
    expect([r.steps, r.seconds, r.evals.map((e) => e.step)]).toEqual([20, 40, [10, 20]]);
  });

  it("names the run and line of a broken record", () => {
    expect(() => parseMetrics("run-b", `${line({ step: 1, time: 1 })}\n{"step": 2,`)).toThrow(
      /run-b\/metrics.jsonl line 2/,
    );
  });

  it("chains runs end to end on one axis of time and one of questions seen", () => {
    const a = parseMetrics(
      "a",
      [
        line({ step: 90, time: 40, loss: 1, q_per_s: 2 }),
        line({ step: 100, time: 50, val: { mean: 0.1, n: 7 } }),
        line({ step: 120, time: 60, loss: 1, q_per_s: 3 }),
      ].join("\n"),
    );
    const b = parseMetrics(
      "b",
      line({ step: 5, time: 4, loss: 1, q_per_s: 100 }) +
        "\n" +
        line({ step: 10, time: 5, val: { mean: 0.2, n: 7 } }),
    );
    expect(chain([a, b]).map((p) => [p.run, p.time, p.questions, p.val.mean])).toEqual([
      ["a", 50, 80, 0.1],
      ["b", 65, 140 + 400, 0.2],
    ]);
  });

  it("smooths with a centred window, shorter at the ends", () => {
    expect(smooth([0, 3, 6, 9], 3)).toEqual([1.5, 3, 6, 7.5]);
    expect(smooth([1, 2], 1)).toEqual([1, 2]);
  });
});
