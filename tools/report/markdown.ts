// docs/pruning.md from the sweep's evaluation reports (tools/eval/run.ts EvalReport).
import { isMethod, methodSpec } from "../../wasm/index";
import type { EvalReport } from "../eval/run";

const FAMILIES = ["colour", "shape", "count", "exist", "position", "relation", "caption"];
const pct = (x: number | undefined) => (x === undefined ? "-" : (100 * x).toFixed(1));

/** The run's knobs as its method's registry entry words them. */
function knobText(r: EvalReport): string {
  return isMethod(r.method) ? methodSpec(r.method).describe(r.knobs ?? {}) : "";
}

function row(r: EvalReport, none: EvalReport): string {
  const acc = FAMILIES.map((f) => pct(r.accuracy[f]));
  return `| ${r.method} | ${knobText(r)} | ${pct(r.visual_tokens.mean_fraction)}% | ${acc.join(" | ")} | **${pct(r.accuracy.mean)}** | ${r.caption_f1 === null ? "-" : r.caption_f1.toFixed(3)} | ${(r.llm_prefill_macs / 1e6).toFixed(1)} (${(none.llm_prefill_macs / r.llm_prefill_macs).toFixed(2)}x) | ${r.timings_ms.llm_prefill.toFixed(2)} (${(none.timings_ms.llm_prefill / r.timings_ms.llm_prefill).toFixed(2)}x) |`;
}

function perLayerTable(
  title: string,
  groups: Record<string, number[]> | undefined,
  layers: number,
): string[] {
  if (!groups) return [];
  const head = `| ${title} | ${Array.from({ length: layers }, (_, l) => `L${l}`).join(" | ")} | mean |`;
  return [
    head,
    `|${" --- |".repeat(layers + 2)}`,
    ...Object.entries(groups).map(
      ([k, v]) =>
        `| ${k} | ${v.map((x) => x.toFixed(1)).join(" | ")} | ${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(1)} |`,
    ),
  ];
}

/** The whole document. */
export function renderMarkdown(
  none: EvalReport,
  atp0: EvalReport,
  runs: (EvalReport & { target_keep?: number })[],
  { layers, numVisual }: { layers: number; numVisual: number },
): string {
  const header = `| method | knob | visual tokens kept | ${FAMILIES.join(" | ")} | mean | caption F1 | LLM prefill MMAC (vs none) | prefill ms (vs none) |`;
  const sep = `|${" --- |".repeat(FAMILIES.length + 7)}`;
  const targets = [...new Set(runs.map((r) => r.target_keep))];
  const lines = [
    "# Visual-token pruning on ShapesVQA: ATP against FastV, PyramidDrop, random and grid",
    "",
    `Written by \`npm run report:pruning\` (tools/report/pruning.ts) from the engine (wasm/, ${none.precision}) on ` +
      `\`${none.split}\` (${none.count} questions). "Visual tokens kept" is the mean over all ${layers} LLM layers ` +
      `of the fraction of the ${numVisual} visual tokens alive entering the layer (the paper's counting: unpruned ` +
      "layers included). Each method reaches a target fraction with its own knob (`--keep`, " +
      "tools/eval/calibrate.ts; ATP's budget is calibrated on `val`); `random` keeps the per-layer counts ATP " +
      "chose for the same question. Accuracy is exact match per family (caption too; its object-F1 beside). MACs count the LLM prefill; ms is " +
      "measured on this machine (shared CPU: compare the ratios).",
    "",
    "## Unpruned and ATP as trained",
    "",
    header,
    sep,
    row(none, none),
    row(atp0, none),
    "",
  ];
  for (const t of targets) {
    lines.push(`## Matched budget: ${pct(t)}% of visual tokens`, "", header, sep);
    lines.push(...runs.filter((r) => r.target_keep === t).map((r) => row(r, none)), "");
  }
  lines.push(
    "## Adaptivity: ATP (budget 0) visual tokens per layer",
    "",
    ...perLayerTable("family", atp0.per_layer_by_family, layers),
    "",
    ...perLayerTable("objects", atp0.per_layer_by_objects, layers),
    "",
    "![accuracy vs visual tokens kept](pruning.png)",
    "",
  );
  return lines.join("\n");
}
