// Every client error of the API answers OpenAI-style JSON with its status, never a 500: malformed and
// invalid bodies (400), wrong content type and image formats (415), oversized bodies and images (413,
// checked from the header before decoding), undecodable images and zlib bombs (422), unknown models (404),
// prompts past the context (400).
import { encode } from "fast-png";
import { beforeAll, describe, expect, it } from "vitest";
import { call, chatBody, IMAGES, QUESTION, seedWeights, urlBytes } from "./helpers/api";
import { dataUrl, jpegHeaderOnly, pngBomb, pngWith, zlib } from "./helpers/images";
import { MAX_BODY_BYTES } from "../../worker/limits";

interface ErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

/** Calls and checks the status and error shape; returns the error. */
async function expectError(res: Promise<Response>, status: number, code?: string) {
  const r = await res;
  const body = (await r.json()) as ErrorBody;
  expect({ status: r.status, code: body.error?.code }).toEqual({ status, code: code ?? body.error?.code });
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message).not.toMatch(/at .*\.ts:\d+/); // no stack traces
  return body.error;
}

const chat = (body: unknown) => call("/v1/chat/completions", body);
const withImage = (url: string) => chat(chatBody(url));

beforeAll(() => seedWeights());

describe("request errors", () => {
  it("400 on malformed JSON", () => expectError(chat("{not json"), 400, "invalid_json"));

  it("415 on a body that is not JSON", async () => {
    const res = call("/v1/chat/completions", "x", { "Content-Type": "text/plain" });
    await expectError(res, 415, "unsupported_media_type");
  });

  it("413 on a body past the limit, by Content-Length or while streaming", async () => {
    const big = "x".repeat(MAX_BODY_BYTES + 1);
    await expectError(chat(big), 413, "request_too_large");
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 9; i++) c.enqueue(new Uint8Array(1 << 20).fill(32));
        c.close();
      },
    });
    const { exports } = await import("cloudflare:workers");
    const res = exports.default.fetch("http://localhost/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: chunked,
    });
    await expectError(res, 413, "request_too_large");
  });

  it("400 naming the field on schema violations", async () => {
    expect((await expectError(chat({}), 400)).param).toBe("messages");
    const badRole = await expectError(chat({ messages: [{ role: "robot", content: "hi" }] }), 400);
    expect(badRole.param).toBe("messages[0].role");
    const badMethod = await expectError(
      chat(chatBody(IMAGES["shapes.png"], QUESTION, { atp: { method: "nope" } })),
      400,
    );
    expect(badMethod.param).toBe("atp.method");
    for (const extra of [
      { atp: { budget: 1000 } },
      { atp: { knobs: "x" } },
      { atp: { unknown: 1 } },
      { atp: { deadline_ms: -1 } },
      { atp: { deadline_ms: 10 ** 9 } },
      { max_tokens: 0 },
      { max_tokens: 1.5 },
      { temperature: -1 },
      { top_p: 0 },
      { n: 2 },
      { stream: "yes" },
    ]) {
      await expectError(chat(chatBody(IMAGES["shapes.png"], QUESTION, extra)), 400, "invalid_request");
    }
  });

  it("400 without an image, with two, with a remote URL or bad base64", async () => {
    await expectError(chat({ messages: [{ role: "user", content: QUESTION }] }), 400, "image_required");
    const two = chatBody(IMAGES["shapes.png"]);
    two.messages[0].content.push({ type: "image_url", image_url: { url: IMAGES["shapes.jpg"] } });
    await expectError(chat(two), 400, "too_many_images");
    await expectError(withImage("https://example.com/cat.png"), 400, "unsupported_image_url");
    await expectError(withImage("data:image/png;base64,@@@@"), 400, "invalid_base64");
    await expectError(withImage("data:image/png,rawbytes"), 400, "invalid_image_url");
  });

  it("404 for a model this Worker does not serve", () =>
    expectError(chat({ ...chatBody(IMAGES["shapes.png"]), model: "gpt-4o" }), 404, "model_not_found"));

  it("400 when the prompt does not fit the context", async () => {
    const long = Array.from({ length: 60 }, () => "square").join(" ");
    await expectError(chat(chatBody(IMAGES["shapes.png"], long)), 400, "context_length_exceeded");
  });

  it("404 for unknown routes and methods", async () => {
    await expectError(call("/v1/nothing"), 404, "not_found");
    await expectError(call("/v1/chat/completions"), 404, "not_found");
  });
});

describe("image errors", () => {
  it("415 for formats other than PNG and JPEG", async () => {
    const riff = new TextEncoder().encode("RIFF\0\0\0\0WEBPVP8 \0\0\0\0");
    const webp = await expectError(withImage(dataUrl(riff, "image/webp")), 415, "unsupported_image_format");
    expect(webp.message).toMatch(/WebP/);
    const gif = new TextEncoder().encode("GIF89a\x01\0\x01\0\0\0\0;");
    await expectError(withImage(dataUrl(gif, "image/gif")), 415, "unsupported_image_format");
    await expectError(withImage(dataUrl(new Uint8Array(64).fill(7))), 415, "unsupported_image_format");
  });

  it("413 from the header alone for images past the pixel limit", async () => {
    const png = await expectError(
      withImage(dataUrl(pngWith(5000, 5000, new Uint8Array(8)))),
      413,
      "image_too_large",
    );
    expect(png.message).toMatch(/5000 x 5000/);
    await expectError(withImage(dataUrl(jpegHeaderOnly(3000, 3000), "image/jpeg")), 413, "image_too_large");
    await expectError(withImage(dataUrl(pngWith(9000, 1, new Uint8Array(8)))), 413, "image_too_large");
  });

  it("422 for a PNG whose data inflates far past its header (zlib bomb)", async () => {
    const err = await expectError(withImage(dataUrl(await pngBomb())), 422, "invalid_image");
    expect(err.message).toMatch(/inflates past/);
  });

  it("422 for corrupt or truncated images", async () => {
    await expectError(withImage(dataUrl(pngWith(8, 8, new Uint8Array(40).fill(0xab)))), 422, "invalid_image");
    await expectError(withImage(dataUrl(pngWith(0, 8, await zlib(new Uint8Array(8))))), 422, "invalid_image");
    const png = urlBytes(IMAGES["shapes.png"]);
    await expectError(withImage(dataUrl(png.subarray(0, 20))), 422, "invalid_image");
    await expectError(withImage(dataUrl(jpegHeaderOnly(32, 32), "image/jpeg")), 422, "invalid_image");
    const jpg = urlBytes(IMAGES["photo.jpg"]);
    await expectError(withImage(dataUrl(jpg.subarray(0, 4), "image/jpeg")), 422, "invalid_image");
  });
});

describe("odd but valid input", () => {
  it("decodes tiny, thin, 16-bit, gray+alpha and palette PNGs", async () => {
    const images = [
      encode({ width: 1, height: 1, data: Uint8Array.of(200, 10, 10), channels: 3 }),
      encode({ width: 1, height: 2000, data: new Uint8Array(2000 * 3).fill(90), channels: 3 }),
      encode({ width: 8, height: 8, data: new Uint16Array(8 * 8 * 4).fill(40000), channels: 4, depth: 16 }),
      encode({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 2).fill(128), channels: 2 }),
      encode({
        width: 4,
        height: 4,
        data: new Uint8Array(16).map((_, i) => i % 2),
        channels: 1,
        depth: 8,
        palette: [
          [255, 0, 0],
          [0, 0, 255],
        ],
      }),
    ];
    for (const [i, png] of images.entries()) {
      const res = await withImage(dataUrl(png));
      expect({ i, status: res.status }).toEqual({ i, status: 200 });
    }
  });

  it("never answers 500 to odd bodies", async () => {
    const bodies: unknown[] = [
      [],
      null,
      "string",
      { messages: null },
      { messages: [{ role: "user", content: null }] },
      { messages: [{ role: "user", content: [] }] },
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: 7 }] }] },
      { messages: [{ role: "user", content: [{ type: "video", url: "x" }] }] },
      { messages: Array.from({ length: 100 }, () => ({ role: "user", content: "hi" })) },
      { ...chatBody(IMAGES["shapes.png"], "\u{1F600} \0 ??"), max_tokens: 2 },
      { ...chatBody(IMAGES["shapes.png"], ""), max_tokens: 2 },
      { ...chatBody(IMAGES["shapes.png"]), atp: { knobs: { tokens: [1, 2] }, method: "grid" } },
      { ...chatBody(IMAGES["shapes.png"]), atp: { method: "random", knobs: { counts: [-1] } } },
      { ...chatBody("data:image/png;base64,"), max_tokens: 2 },
    ];
    for (const body of bodies) {
      const res = await chat(JSON.stringify(body));
      expect({ body, status: res.status < 500 }).toEqual({ body, status: true });
      await res.arrayBuffer();
    }
  });
});
