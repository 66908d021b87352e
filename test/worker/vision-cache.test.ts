// The model's cache of vision outputs through the API (wasm/engine/vision-cache.ts, keyed by
// worker/image/source.ts imageKey, the SHA-256 of the image file): a follow-up question on the same image
// skips the encoder and says so (`atp.vision_cached`), answering exactly as the engine does afresh; the
// same pixels in other bytes, or another image, compute again; the cache holds more entries than the
// queue can hold requests, so a budget planned on an entry still finds it at the request's turn;
// VISION_CACHE = "off" turns it off.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { VISION_CACHE_ENTRIES } from "../../wasm/engine/vision-cache";
import { imageKey } from "../../worker/image/source";
import { MAX_QUEUED_REQUESTS } from "../../worker/limits";
import {
  call,
  chatBody,
  fixturePixels,
  forgetVisionOutputs,
  IMAGES,
  QUESTION,
  referenceModel,
  seedWeights,
  urlBytes,
} from "./helpers/api";

interface Answer {
  choices: { message: { content: string } }[];
  atp: { vision_cached: boolean; timings: { vision_ms: number }; vision_macs: number; method: string };
}

const ask = async (image: string, question = QUESTION, atp: object = {}) => {
  const res = await call("/v1/chat/completions", chatBody(image, question, { max_tokens: 6, atp }));
  expect(res.status).toBe(200);
  return (await res.json()) as Answer;
};

describe("the vision cache through the API", () => {
  beforeAll(() => seedWeights());

  it("answers a follow-up on the same image from the cache, as the engine does afresh", async () => {
    forgetVisionOutputs();
    const first = await ask(IMAGES["shapes.png"]);
    const followUp = await ask(IMAGES["shapes.png"], "what color is red ?");
    expect(first.atp.vision_cached).toBe(false);
    expect(first.atp.vision_macs).toBeGreaterThan(0);
    expect(followUp.atp.vision_cached).toBe(true);
    expect(followUp.atp.vision_macs).toBe(0);
    expect(followUp.atp.timings.vision_ms).toBe(0);
    const ref = await (
      await referenceModel()
    ).run(fixturePixels("shapes.png"), "what color is red ?", { maxTokens: 6 });
    expect(followUp.choices[0].message.content).toBe(ref.text);
    // a method that reads the encoder's attention computes it
    expect((await ask(IMAGES["shapes.png"], QUESTION, { method: "visionzip" })).atp.vision_cached).toBe(
      false,
    );
  });

  it("keys by the file's bytes: another image, or the same pixels in another file, compute again", async () => {
    forgetVisionOutputs();
    await ask(IMAGES["shapes.png"]);
    expect((await ask(IMAGES["shapes.jpg"])).atp.vision_cached).toBe(false);
    expect((await ask(IMAGES["gray.png"])).atp.vision_cached).toBe(false);
    // the same PNG with a private ancillary chunk before IEND ("atPe", one byte "x", its CRC-32): other
    // bytes, the same pixels, a different key
    const png = urlBytes(IMAGES["shapes.png"]);
    const text = new Uint8Array([0, 0, 0, 1, 0x61, 0x74, 0x50, 0x65, 0x78, 0xac, 0xc5, 0xd6, 0x77]);
    const tagged = new Uint8Array(png.length + text.length);
    tagged.set(png.subarray(0, png.length - 12));
    tagged.set(text, png.length - 12);
    tagged.set(png.subarray(png.length - 12), png.length - 12 + text.length);
    expect(await imageKey(tagged)).not.toBe(await imageKey(png));
    const url = `data:image/png;base64,${btoa(String.fromCharCode(...tagged))}`;
    const r = await ask(url);
    expect(r.atp.vision_cached).toBe(false);
    expect(r.choices[0].message.content).toBe((await ask(IMAGES["shapes.png"])).choices[0].message.content);
  });

  it("is off with VISION_CACHE = off", async () => {
    const vars = env as unknown as { VISION_CACHE?: string };
    vars.VISION_CACHE = "off";
    try {
      forgetVisionOutputs();
      await ask(IMAGES["shapes.png"]);
      expect((await ask(IMAGES["shapes.png"])).atp.vision_cached).toBe(false);
    } finally {
      delete vars.VISION_CACHE;
    }
    expect((await ask(IMAGES["shapes.png"])).atp.vision_cached).toBe(false);
    expect((await ask(IMAGES["shapes.png"])).atp.vision_cached).toBe(true);
  });

  it("is reported by /health", async () => {
    forgetVisionOutputs();
    await ask(IMAGES["shapes.png"]);
    await ask(IMAGES["shapes.png"]);
    const health = (await (await call("/health")).json()) as {
      vision_cache: { entries: number; capacity: number; bytes: number; hits: number; misses: number };
    };
    expect(health.vision_cache).toMatchObject({ entries: 1, capacity: VISION_CACHE_ENTRIES });
    expect(health.vision_cache.bytes).toBeGreaterThan(0);
    expect(health.vision_cache.hits).toBeGreaterThan(0);
  });

  it("holds more entries than the queue holds requests", async () => {
    expect(VISION_CACHE_ENTRIES).toBeGreaterThan(MAX_QUEUED_REQUESTS + 1);
    expect(await imageKey(new Uint8Array([1, 2, 3]))).toBe(
      "039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81",
    );
  });
});
