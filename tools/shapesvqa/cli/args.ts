// Shared argument parsing for the ShapesVQA command-line tools (tools/flags.ts).
import { parseFlags } from "../../flags";
import { splitSpec, type SplitName, type SplitSpec } from "../dataset";

/** Parses `(--split val|test | [--split train] --seed S --count N [--per-image K]) --out PATH`. */
export function parseSplitArgs(
  tool: string,
  usage: string,
  defaultOut?: string,
): { spec: SplitSpec; out: string } {
  const { values } = parseFlags(tool, usage, {
    split: { type: "string" },
    seed: { type: "string" },
    count: { type: "string" },
    "per-image": { type: "string" },
    out: { type: "string" },
  });
  const split = (values.split ?? (values.seed !== undefined ? "train" : undefined)) as SplitName | undefined;
  if (split !== "val" && split !== "test" && split !== "train")
    throw new Error("--split must be val, test or train");
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const out = values.out ?? defaultOut;
  if (!out) throw new Error("--out is required");
  return { spec: splitSpec(split, num(values.seed), num(values.count), num(values["per-image"])), out };
}
