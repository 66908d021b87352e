// Shared pieces of the Worker tests: the tiny random model (test/wasm/helpers/tiny.ts) seeded into
// Miniflare's R2 through the WEIGHTS binding, the fixture images as data: URLs, requests through the real
// Worker (`exports.default.fetch`) and the engine run directly on the same pixels (see fixturePixels)
// for the "answers equal the engine's" checks.
import { env, exports } from "cloudflare:workers";
import { decode as decodePngFile } from "fast-png";
import { decodeJpeg } from "../../../worker/image/jpeg";
import relaxedModule from "../../../wasm/build/kernels.relaxed.wasm";
import { loadModel, MemorySource, type ImageInput, type Model } from "../../../wasm/index";
import { modelStore } from "../../../worker/store";
import { TINY_CONFIG, tinyModelFiles } from "../../wasm/helpers/tiny";

/** The converted tiny model (manifest.json, config.json, tokenizer.json, shards). */
export const WEIGHT_FILES = tinyModelFiles("q8");

/** The tiny model's vision input side: JPEG fixtures are decoded for it. */
const MODEL_IMAGE_SIZE = TINY_CONFIG.vision_config.image_size;

/** Questions in the tiny vocabulary. */
export const QUESTION = "what color is the square ?";

/** Fixture images by file name, as data: URLs. */
export const IMAGES = Object.fromEntries(
  Object.entries(
    import.meta.glob("../../fixtures/images/*.{png,jpg}", {
      query: "?inline",
      import: "default",
      eager: true,
    }) as Record<string, string>,
  ).map(([path, url]) => [path.slice(path.lastIndexOf("/") + 1), url]),
);

/** Bytes of a base64 data: URL. */
export function urlBytes(url: string): Uint8Array {
  const bin = atob(url.slice(url.indexOf(",") + 1));
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}

/** Puts the weights (or the given files) into the WEIGHTS bucket and forgets any loaded model. */
export async function seedWeights(files: Map<string, Uint8Array> = WEIGHT_FILES): Promise<void> {
  const listed = await env.WEIGHTS.list();
  await Promise.all(listed.objects.map((o) => env.WEIGHTS.delete(o.key)));
  await Promise.all([...files].map(([key, bytes]) => env.WEIGHTS.put(key, bytes)));
  modelStore.reset();
}

/** Empties the served model's cache of vision outputs (tests that plan or time the encoder). */
export function forgetVisionOutputs(): void {
  const m = modelStore.loaded;
  if (m && "visionCache" in m) m.visionCache.clear();
}

/** A request to the Worker. */
export function call(path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(`http://localhost${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? headers : { "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** A chat request body with one image and one question. */
export function chatBody(imageUrl: string, question = QUESTION, extra: Record<string, unknown> = {}) {
  return {
    model: "atp-tiny",
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: question },
          { type: "image_url", image_url: { url: imageUrl } },
        ],
      },
    ],
    ...extra,
  };
}

/** The engine on the same weights, loaded from memory. */
let reference: Promise<Model> | undefined;
export function referenceModel(): Promise<Model> {
  reference ??= loadModel(new MemorySource(WEIGHT_FILES), { kernels: relaxedModule });
  return reference;
}

/**
 * Pixels of a fixture: a PNG decoded by fast-png directly, a JPEG by the Worker's decoder at the DCT scale
 * it picks for the model (worker/image/jpeg.ts; test/worker/image/jpeg.test.ts checks it against jpeg-js).
 */
export function fixturePixels(name: string): ImageInput {
  const bytes = urlBytes(IMAGES[name]);
  if (name.endsWith(".jpg")) return decodeJpeg(bytes, MODEL_IMAGE_SIZE);
  const p = decodePngFile(bytes);
  if (p.depth !== 8 || (p.channels !== 3 && p.channels !== 4)) throw new Error(`${name}: not 8-bit RGB(A)`);
  return { data: p.data as Uint8Array, width: p.width, height: p.height, channels: p.channels };
}

/** Parsed SSE `data:` payloads of a complete event-stream body, checking the framing on the way. */
export function parseSse(text: string): string[] {
  if (!text.endsWith("\n\n")) throw new Error("SSE body does not end with a blank line");
  return text
    .slice(0, -2)
    .split("\n\n")
    .map((event) => {
      if (!event.startsWith("data: ") || event.includes("\n")) throw new Error(`bad SSE event: ${event}`);
      return event.slice(6);
    });
}
