// npm run bench:metrics (type-checked with the Worker tsconfig: it imports worker/ code): the CPU a request spends on recording its metrics (worker/metrics): the
// thumbnail, building the record, and the structured clone that hands it to the Durable Object stub.
// The write itself runs after the response (waitUntil) and is not on the request's path.
// Target (dashboard issue): < 1 ms per request. Prints microseconds per request per image size.
import { readFileSync } from "node:fs";
import { parseConfig } from "../../wasm/tools";
import { buildRecord, type RequestMarks } from "../../worker/metrics/record";
import { thumbnail } from "../../worker/metrics/thumbnail";
import type { Outcome } from "../../worker/serve/answer";

/** The shipped model's dimensions (weights/config.json): what a real record carries. */
const config = parseConfig(JSON.parse(readFileSync("weights/config.json", "utf8")));
const LAYERS = config.text.layers;
const VISUAL = config.imageSeqLength;
const TOKENS = 32;
/** Visual tokens dropped per layer in the sample record. */
const DROP = Math.floor(VISUAL / (LAYERS + 1));

/** A finished answer as the engine reports it: the model's layers, pruned from layer 1 on, 32 tokens. */
const outcome = {
  stoppedBy: "max_tokens",
  deadlineMs: 60000,
  elapsedMs: 400,
  done: {
    type: "done",
    text: "red square , blue circle",
    ids: [],
    stats: {
      method: "atp",
      promptTokens: 160,
      generatedTokens: TOKENS,
      finishReason: "length",
      timings: {
        preprocessMs: 1,
        visionMs: 20,
        visionLayersMs: [5, 5, 5, 5],
        projectorMs: 1,
        prefillMs: 50,
        llmLayersMs: Array(LAYERS).fill(6),
        pruneMsPerLayer: Array(LAYERS).fill(0.2),
        ttftMs: 80,
        decodeMsPerToken: 5,
        totalMs: 300,
      },
      visualTokens: {
        perLayer: Array.from({ length: LAYERS }, (_, l) => VISUAL - l * DROP),
        indexPerLayer: Array.from({ length: LAYERS }, (_, l) =>
          Array.from({ length: VISUAL - l * DROP }, (_, i) => i),
        ),
        total: VISUAL,
        meanFraction: 0.6,
      },
      llmPrefillMacs: 1e8,
      peakMemoryBytes: 1,
    },
  },
} as unknown as Outcome;

function marks(): RequestMarks {
  return {
    route: "/v1/chat/completions",
    model: "atp-tiny",
    budget: null,
    cold: false,
    arrivedEpochMs: Date.now(),
    arrivedAt: 0,
    modelReadyAt: 1,
    imageDecodedAt: 2,
    tokenAt: Array.from({ length: TOKENS }, (_, i) => 80 + i * 5),
    thumb: null,
  };
}

/** Mean microseconds of `fn` over `n` calls after a warm-up. */
function usPerCall(fn: () => unknown, n = 2000): number {
  for (let i = 0; i < 200; i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - t0) / n) * 1000;
}

console.log("image size    record total   thumbnail   buildRecord   (us per request; target < 1000)");
const side = config.vision.imageSize;
for (const [w, h] of [
  [side, side],
  [640, 480],
  [2048, 2048],
]) {
  const img = {
    data: new Uint8Array(w * h * 3).map((_, i) => (i * 7) & 255),
    width: w,
    height: h,
    channels: 3 as const,
  };
  const m = marks();
  const total = usPerCall(() =>
    structuredClone(buildRecord(outcome, { ...marks(), thumb: thumbnail(img, side) })),
  );
  const thumb = usPerCall(() => thumbnail(img, side));
  const record = usPerCall(() => buildRecord(outcome, m));
  console.log(
    `${`${w}x${h}`.padEnd(13)} ${total.toFixed(1).padStart(12)} ${thumb.toFixed(1).padStart(11)} ${record.toFixed(1).padStart(13)}`,
  );
}
