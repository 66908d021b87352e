// The model benchmark body, platform-neutral (runs in Node and inside workerd): cold load from bytes
// in memory, then caption generations (the longest answers; stop tokens disabled so every run decodes
// `tokens` tokens) timed per stage from the engine's own stats, medians over `runs`. Also the
// preprocessing of a camera-sized RGBA image (640 x 480 -> 96 x 96) and the peak linear memory.
import { loadModel, MemorySource, type GenerateStats } from "../../wasm/index";

/** The caption question of ShapesVQA (tools/shapesvqa/questions.ts). */
export const CAPTION_PROMPT = "what is in the image?";
/** Peak linear memory allowed while generating (the target: 64 MB). */
export const MEMORY_TARGET_BYTES = 64 * 1024 * 1024;

/** Figures of one kernel build, in ms unless named otherwise (medians over the runs). */
export interface ModelFigures {
  build: string;
  precision: string;
  load_ms: number;
  preprocess_ms: number;
  preprocess_640x480_ms: number;
  vision_ms: number;
  projector_ms: number;
  llm_prefill_ms: number;
  /** vision + projector + LLM prefill: what the ONNX peer computes. */
  vision_and_prefill_ms: number;
  ttft_ms: number;
  decode_ms_per_token: number;
  generated_tokens: number;
  prompt_tokens: number;
  llm_prefill_macs: number;
  peak_memory_bytes: number;
}

/** Inputs: the weight files, an image of the model's size (RGB), the kernel builds to time. */
export interface ModelBenchInput {
  files: Map<string, Uint8Array>;
  image: { data: Uint8Array; width: number; height: number };
  builds: { name: string; module: WebAssembly.Module }[];
  runs: number;
  tokens: number;
  precision?: "int8" | "f32";
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** Runs the benchmark for every build. */
export async function benchModel(input: ModelBenchInput): Promise<ModelFigures[]> {
  const out: ModelFigures[] = [];
  const big = { data: new Uint8Array(640 * 480 * 4), width: 640, height: 480 };
  for (let i = 0; i < big.data.length; i++) big.data[i] = (i * 2654435761) >>> 24;
  for (const build of input.builds) {
    const t0 = performance.now();
    const model = await loadModel(new MemorySource(input.files), {
      kernels: build.module,
      precision: input.precision,
    });
    const loadMs = performance.now() - t0;
    const opts = { maxTokens: input.tokens, stopTokens: [] as number[] };
    await model.run(input.image, CAPTION_PROMPT, opts); // warm-up
    const stats: GenerateStats[] = [];
    for (let r = 0; r < input.runs; r++)
      stats.push((await model.run(input.image, CAPTION_PROMPT, opts)).stats);
    const bigPre: number[] = [];
    for (let r = 0; r < Math.max(1, input.runs >> 1); r++) {
      bigPre.push((await model.run(big, CAPTION_PROMPT, { maxTokens: 1 })).stats.timings.preprocessMs);
    }
    const m = (f: (s: GenerateStats) => number) => median(stats.map(f));
    out.push({
      build: build.name,
      precision: model.info.quantization,
      load_ms: loadMs,
      preprocess_ms: m((s) => s.timings.preprocessMs),
      preprocess_640x480_ms: median(bigPre),
      vision_ms: m((s) => s.timings.visionMs),
      projector_ms: m((s) => s.timings.projectorMs),
      llm_prefill_ms: m((s) => s.timings.prefillMs),
      vision_and_prefill_ms: m((s) => s.timings.visionMs + s.timings.projectorMs + s.timings.prefillMs),
      ttft_ms: m((s) => s.timings.ttftMs),
      decode_ms_per_token: m((s) => s.timings.decodeMsPerToken),
      generated_tokens: stats[0].generatedTokens,
      prompt_tokens: stats[0].promptTokens,
      llm_prefill_macs: stats[0].llmPrefillMacs,
      peak_memory_bytes: model.memoryBytes,
    });
  }
  return out;
}

/** A text table of the figures. */
export function formatFigures(runtime: string, figs: ModelFigures[]): string {
  const keys = Object.keys(figs[0]).filter((k) => k !== "build") as (keyof ModelFigures)[];
  const fmt = (v: number | string) =>
    typeof v === "string" ? v : Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 3 : 1);
  const head = `${runtime.padEnd(24)}` + figs.map((f) => f.build.padStart(14)).join("");
  return [head, ...keys.map((k) => k.padEnd(24) + figs.map((f) => fmt(f[k]).padStart(14)).join(""))].join(
    "\n",
  );
}
