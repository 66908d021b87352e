// docs/pruning.md from the sweep's evaluation reports (tools/eval/run.ts EvalReport).
import { isMethod, methodSpec, type CountBy } from "../../wasm/index";
import type { EvalReport } from "../eval/run";

/** One run of the sweep: its report, the target fraction and how that fraction was counted. */
export type SweepRun = EvalReport & { target_keep: number; count_by: CountBy };

const FAMILIES = ["colour", "shape", "count", "exist", "position", "relation", "caption"];
const pct = (x: number | undefined) => (x === undefined ? "-" : (100 * x).toFixed(1));

/** The run's knobs as its method's registry entry words them. */
function knobText(r: EvalReport): string {
  return isMethod(r.method) ? methodSpec(r.method).describe(r.knobs ?? {}) : "";
}

/** `x` and its ratio to the unpruned `base` ("12.3 (2.50x)"). */
const vsNone = (x: number, base: number, digits = 1) => `${x.toFixed(digits)} (${(base / x).toFixed(2)}x)`;

function row(r: EvalReport, none: EvalReport): string {
  const acc = FAMILIES.map((f) => pct(r.accuracy[f]));
  const v = r.visual_tokens;
  const cells = [
    r.method,
    knobText(r),
    `${pct(v.mean_fraction)}%`,
    `${pct(v.input_fraction)}%`,
    `${pct(r.kv_fraction)}%`,
    ...acc,
    `**${pct(r.accuracy.mean)}**`,
    r.caption_f1 === null ? "-" : r.caption_f1.toFixed(3),
    vsNone(r.llm_prefill_macs / 1e6, none.llm_prefill_macs / 1e6),
    (r.vision_macs / 1e6).toFixed(1),
    vsNone(r.timings_ms.ttft, none.timings_ms.ttft, 2),
  ];
  return `| ${cells.join(" | ")} |`;
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
  runs: SweepRun[],
  { layers, numVisual }: { layers: number; numVisual: number },
): string {
  const header = `| method | knob | mean over layers | entering the LLM | KV cache | ${FAMILIES.join(" | ")} | mean | caption F1 | LLM prefill MMAC (vs none) | vision MMAC | TTFT ms (vs none) |`;
  const sep = `|${" --- |".repeat(FAMILIES.length + 10)}`;
  const lines = [
    "# Visual-token pruning on ShapesVQA: every method of the engine at matched budgets",
    "",
    `Written by \`npm run report:pruning\` (tools/report/pruning.ts) from the engine (wasm/, ${none.precision}) on ` +
      `\`${none.split}\` (${none.count} questions). Budgets are counted two ways (docs/method.md): the mean over all ` +
      `${layers} LLM layers of the fraction of the ${numVisual} visual tokens alive entering the layer (ATP-LLaVA's ` +
      "counting, unpruned layers included), and the fraction entering the first LLM layer (the pre-LLM methods' " +
      "counting; methods that prune inside the LLM let every token in, so they have no row there). Each method " +
      "reaches a target with its own knob (`--keep F --count-by mean|input`, tools/eval/calibrate.ts; ATP's " +
      "budget is calibrated on `val`); `random` keeps the per-layer counts ATP chose for the same question. " +
      "Accuracy is exact match per family (caption too; its object-F1 beside). KV cache: the key/value rows the " +
      "prompt leaves over all layers against unpruned. MACs count the LLM prefill and the vision tower + " +
      "projector; TTFT (vision included) is measured on this machine (shared CPU: compare the ratios).",
    "",
    "## Unpruned and ATP as trained",
    "",
    header,
    sep,
    row(none, none),
    row(atp0, none),
    "",
  ];
  for (const countBy of ["mean", "input"] as const) {
    const mine = runs.filter((r) => r.count_by === countBy);
    for (const t of [...new Set(mine.map((r) => r.target_keep))]) {
      const what = countBy === "mean" ? "mean over LLM layers" : "entering the LLM";
      lines.push(`## ${pct(t)}% of visual tokens, ${what}`, "", header, sep);
      lines.push(...mine.filter((r) => r.target_keep === t).map((r) => row(r, none)), "");
    }
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
    "## Which tokens each method kept (about 25%, mean counting; dimmed: dropped before the last layer)",
    "",
    "![pruning map](pruning-map.png)",
    "",
  );
  return lines.join("\n");
}
