// npm run bench:oneword -- --help prints the flags (USAGE below).
// Issue 19's yardstick request in workerd: a one-word answer (the colour questions of ShapesVQA test, as
// PNGs, max_tokens 4; `--family caption --max-tokens 24` for captions) served as the Worker serves one
// (tools/bench/cost-worker.ts), by the default method with no CPU budget, beside the same with the cost
// table's vision reduction, and unpruned, in one run: CPU ms per request (image decode + the engine),
// where it goes, the ratios, and accuracy (exact match). The first --warmup questions' requests run once
// before the measured ones and are not counted (a warm isolate: V8 has tiered the kernels up); the mean
// is the figure, with the median and 90th percentile beside it (this host's timings are noisy). The row
// "image asked about before" is the default method on an image the model answered a question about just
// before (a chat's follow-up): its vision output comes from the model's cache (docs/cost.md).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  defaultMethod,
  loadModel,
  MemorySource,
  type MethodName,
  type PolicyKnobs,
  type VisionReduction,
  KERNEL_BUILDS,
} from "../../wasm/index";
import { loadSplit } from "../eval/data";
import { kernelModule, type KernelBuild } from "../eval/node";
import { rgbToPng } from "../shapesvqa/png";
import { exactMatch } from "../shapesvqa/score";
import { hostName, measure } from "./cost-measure";
import type { CostJobRequest, CostRecord } from "./cost-worker";
import { readWeightFiles } from "./model-io";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run bench:oneword [-- --weights weights] [--data data] [--count 100] [--family colour]
    [--max-tokens 4] [--kernels relaxed|simd] [--warmup 3] [--json out/bench/oneword.json]`;

const { values } = parseFlags("bench:oneword", USAGE, {
  weights: { type: "string", default: "weights" },
  data: { type: "string", default: "data" },
  count: { type: "string", default: "100" },
  family: { type: "string", default: "colour" },
  "max-tokens": { type: "string", default: "4" },
  kernels: { type: "string", default: "relaxed" },
  warmup: { type: "string", default: "3" },
  json: { type: "string", default: "out/bench/oneword.json" },
});
if (!(KERNEL_BUILDS as readonly string[]).includes(values.kernels!))
  throw new Error(`--kernels must be one of ${KERNEL_BUILDS.join(", ")}, got ${values.kernels}`);
const KERNELS = values.kernels as KernelBuild;

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
/** The q-quantile of xs, linear between order statistics. */
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s.length ? s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (at - lo) : 0;
};

async function main(): Promise<void> {
  const weights = readWeightFiles(values.weights!);
  const model = await loadModel(new MemorySource(weights), { kernels: kernelModule(KERNELS) });
  const method: MethodName = defaultMethod(model.config);
  // the cost table's twin of the default method's point nearest 25% (its vision reduction and the knobs
  // that keep that fraction after it), if the table has one
  const twin = model.info.cost?.platforms[0]?.methods[method]
    ?.filter((p) => p.vision)
    .reduce((a, b) => (Math.abs(b.keep - 0.25) < Math.abs(a.keep - 0.25) ? b : a));
  const vision: VisionReduction | undefined = twin?.vision;
  const items = loadSplit(values.data!, "test")
    .filter((it) => it.family === values.family)
    .slice(0, Number(values.count));
  const images = new Map<string, Uint8Array>();
  const variants: {
    name: string;
    method: MethodName;
    knobs?: PolicyKnobs;
    vision?: VisionReduction;
    askedBefore?: boolean;
  }[] = [
    { name: `${method} (default)`, method },
    ...(vision
      ? [
          {
            name: `${method} + vision ${vision.layer},${vision.tokens},${vision.merge ?? 0} at ${twin!.keep}`,
            method,
            knobs: twin!.knobs as PolicyKnobs,
            vision,
          },
        ]
      : []),
    { name: `${method}, image asked about before`, method, askedBefore: true },
    { name: "none", method: "none" },
  ];
  const reqs: CostJobRequest[] = [];
  const warm = Math.min(Number(values.warmup), items.length);
  for (const it of [...items.slice(0, warm), ...items]) {
    const key = `__img.test.${it.imageIndex}.png`;
    if (!images.has(key)) images.set(key, rgbToPng(96, 96, it.image));
    for (const v of variants)
      reqs.push({
        image: key,
        qIds: it.qIds,
        method: v.method,
        knobs: v.knobs ?? {},
        maxTokens: Number(values["max-tokens"]),
        ...(v.vision ? { vision: v.vision } : {}),
        ...(v.askedBefore ? { askedBefore: true } : {}),
      });
  }
  const measured = await measure(weights, images, reqs, KERNELS);
  const platform = measured.platform;
  const records = measured.records.slice(warm * variants.length);
  const cpu = (r: CostRecord) => r.decodeImageMs + r.timings.totalMs;
  const out = variants.map((v, k) => {
    const rs = records.filter((_, i) => i % variants.length === k);
    const t = (f: (r: CostRecord) => number) => round(mean(rs.map(f)));
    return {
      name: v.name,
      cpu_ms: t(cpu),
      cpu_ms_median: round(quantile(rs.map(cpu), 0.5)),
      cpu_ms_p90: round(quantile(rs.map(cpu), 0.9)),
      parts_ms: {
        image_decode: t((r) => r.decodeImageMs),
        preprocess: t((r) => r.timings.preprocessMs),
        vision: t((r) => r.timings.visionMs),
        projector: t((r) => r.timings.projectorMs),
        llm_prefill: t((r) => r.timings.prefillMs),
        decode: t((r) => r.timings.totalMs - r.timings.ttftMs),
      },
      within_10ms: round(mean(rs.map((r) => (cpu(r) <= 10 ? 1 : 0))), 4),
      accuracy: round(mean(rs.map((r, i) => (exactMatch(r.text, items[i].answer) ? 1 : 0))), 4),
      mean_fraction: round(mean(rs.map((r) => mean(r.visualPerLayer) / model.config.imageSeqLength)), 4),
      vision_cached: round(mean(rs.map((r) => (r.visionCached ? 1 : 0))), 4),
    };
  });
  const none = out[out.length - 1].cpu_ms;
  const report = {
    host: hostName(),
    platform,
    family: values.family,
    questions: items.length,
    warmup_questions: warm,
    max_tokens: Number(values["max-tokens"]),
    variants: out.map((o) => ({ ...o, x_less_than_none: round(none / o.cpu_ms) })),
  };
  mkdirSync(dirname(values.json!), { recursive: true });
  writeFileSync(values.json!, JSON.stringify(report, null, 2) + "\n");
  console.log(JSON.stringify(report, null, 2));
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
