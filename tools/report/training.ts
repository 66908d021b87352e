// npm run report:training -- --help prints the flags (USAGE below).
// The learning curves of a chain of stage-1 runs (each `--init` from the one before): val accuracy per
// family against questions seen (docs/training.png, the 350-question evaluations smoothed), and the
// full-val evaluation at the end of each run (docs/training.md). NAME@STEP cuts a run at the checkpoint the
// next run was started from (`--init`) when the run trained on after it.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chartSvg, svgToPng } from "./chart";
import { chain, parseMetrics, smooth } from "./curves";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run report:training -- --runs atp-tiny-5,atp-tiny-6,atp-tiny-7,atp-tiny-8@857,... [--dir training/runs]
    [--smooth 5] [--md docs/training.md] [--png docs/training.png]`;

const FAMILIES = ["colour", "shape", "count", "exist", "position", "relation", "caption_f1", "mean"];

const { values } = parseFlags("report:training", USAGE, {
  runs: { type: "string" },
  dir: { type: "string", default: "training/runs" },
  smooth: { type: "string", default: "5" },
  md: { type: "string", default: "docs/training.md" },
  png: { type: "string", default: "docs/training.png" },
  "no-png": { type: "boolean", default: false },
});

function main(): void {
  if (!values.runs) throw new Error("--runs NAME,NAME,... is required (the chain, oldest first)");
  const runs = values.runs.split(",").map((spec) => {
    const [name, last] = spec.split("@"); // NAME@STEP: up to the checkpoint the next run started from
    const path = join(values.dir!, name, "metrics.jsonl");
    return parseMetrics(name, readFileSync(path, "utf8"), last === undefined ? Infinity : Number(last));
  });
  const points = chain(runs);
  if (points.length === 0) throw new Error("no evaluations in these runs");
  const sizes = points.map((p) => p.val.n);
  const [small, full] = [Math.min(...sizes), Math.max(...sizes)];
  const subset = points.filter((p) => p.val.n === small);
  const hours = (s: number) => s / 3600;

  const lines = [
    "# Training curves (stage 1)",
    "",
    `Written by \`npm run report:training -- --runs ${values.runs}\` from \`${values.dir}/<run>/metrics.jsonl\`. `,
    `The runs form one chain (each \`--init\` from the one before); the chart plots val accuracy on ${small} `,
    `questions (${Math.round(small / 7)} per family) every few hundred steps, moving average of ${values.smooth} evaluations, `,
    "against the training questions seen (hours depend on the machine each run used: training/README.md).",
    "",
    "![training curves](training.png)",
    "",
    `Full val (${full} questions) at the end of each run:`,
    "",
    `| run | steps | hours (run / total) | questions, M (run / total) | ${FAMILIES.join(" | ")} |`,
    `| --- | --- | --- | --- | ${FAMILIES.map(() => "---").join(" | ")} |`,
  ];
  let total = 0;
  let seen = 0;
  const millions = (q: number) => (q / 1e6).toFixed(2);
  for (const r of runs) {
    total += r.seconds;
    seen += r.questions;
    const end = r.evals.filter((e) => e.val.n === full).at(-1);
    const cells = FAMILIES.map((f) =>
      end?.val[f] === undefined
        ? "-"
        : f === "caption_f1"
          ? end.val[f].toFixed(3)
          : (100 * end.val[f]).toFixed(1),
    );
    lines.push(
      `| ${r.name} | ${r.steps} | ${hours(r.seconds).toFixed(2)} / ${hours(total).toFixed(2)} | ` +
        `${millions(r.questions)} / ${millions(seen)} | ${cells.join(" | ")} |`,
    );
  }
  writeFileSync(values.md!, lines.join("\n") + "\n");
  console.error(`wrote ${values.md}`);

  if (!values["no-png"]) {
    const w = Number(values.smooth);
    const series = FAMILIES.map((f) => ({
      name: f === "caption_f1" ? "caption F1" : f,
      points: smooth(
        subset.map((p) => p.val[f] ?? 0),
        w,
      ).map((y, i) => ({ x: subset[i].questions / 1e6, y })),
    }));
    const svg = chartSvg(series, {
      title: "ShapesVQA val accuracy during stage-1 training",
      xLabel: "training questions seen (millions)",
      yLabel: "val accuracy (%)",
      xTick: (x) => x.toFixed(1),
      dots: false,
    });
    svgToPng(svg, values.png!);
    console.error(`wrote ${values.png}`);
  }
}

try {
  main();
} catch (err) {
  console.error(`report:training: ${(err as Error).message}`);
  process.exit(1);
}
