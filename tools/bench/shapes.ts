// The shapes the kernel benchmark runs: the model's linear layers (K inputs, N outputs, from its
// config.json through the tensor-name table) at decode (M = 1) and at prefill over the visual tokens plus
// a prompt, and the dimensions of the ops around them (ops.ts). The Node drivers compute them and hand them to the workerd bench worker in its query
// (core.ts shapesQuery).
import { readFileSync } from "node:fs";
import { parseConfig, tensorSpecs } from "../../wasm/tools";
import type { BenchShapes } from "./core";

/** Prompt tokens beside the visual ones in a prefill (a short question). */
const PROMPT_TOKENS = 16;

/** Rows (1 = decode GEMV, visual + prompt tokens = prefill GEMM) and (K, N) pairs of `configPath`. */
export function benchShapes(configPath = "weights/config.json"): BenchShapes {
  const config = parseConfig(JSON.parse(readFileSync(configPath, "utf8")));
  const pairs = new Map<string, [number, number]>();
  for (const s of tensorSpecs(config)) {
    if (!s.linear) continue;
    const [n, k] = s.shape;
    pairs.set(`${k}x${n}`, [k, n]);
  }
  const { vision: v, text: t } = config;
  const ops = {
    vision: { rows: config.imageSeqLength, hidden: v.hidden, intermediate: v.intermediate, heads: v.heads },
    text: {
      rows: config.imageSeqLength + PROMPT_TOKENS,
      hidden: t.hidden,
      intermediate: t.intermediate,
      heads: t.heads,
      kvHeads: t.kvHeads,
    },
  };
  return { rows: [1, config.imageSeqLength + PROMPT_TOKENS], shapes: [...pairs.values()], ops };
}
