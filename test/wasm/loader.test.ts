// The loader's failure modes: a corrupt, truncated or missing shard, a missing manifest, and a manifest
// that does not match its config are clear errors and return no model, so nothing half-loaded survives
// (a bad manifest or config fails before any kernel instance exists; a bad shard, streamed, fails while
// it arrives). A good load: every tensor placed, memory bounded; shards streamed in chunks of any size
// give the same model as shards read whole.
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadModel, MemorySource } from "../../wasm/index";
import type { Manifest } from "../../wasm/manifest";
import { BUILDS } from "../helpers/kernels";
import { TINY_CONFIG, tinyModelFiles } from "./helpers/tiny";

const kernels = BUILDS[0].module;
const manifestOf = (files: Map<string, Uint8Array>) =>
  JSON.parse(new TextDecoder().decode(files.get("manifest.json"))) as Manifest;

/**
 * Loads `files` streamed and read whole (a source without `stream`); both must fail with the same
 * message, which is returned. `beforeInstance`: the failure comes before any kernel instance is made.
 */
async function failure(files: Map<string, Uint8Array>, beforeInstance = false): Promise<string> {
  const messages: string[] = [];
  for (const source of [
    new MemorySource(files, 4096),
    { get: (k: string) => new MemorySource(files).get(k) },
  ]) {
    const spy = vi.spyOn(WebAssembly, "instantiate");
    const err = await loadModel(source, { kernels }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err, "load should fail").not.toBeNull();
    if (beforeInstance) expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
    messages.push(err!.message);
  }
  expect(messages[0]).toBe(messages[1]);
  return messages[0];
}

afterEach(() => vi.restoreAllMocks());

describe("loadModel", () => {
  it("streams every shard into linear memory: same logits as read whole, any chunk size", async () => {
    const files = tinyModelFiles();
    const gets: string[] = [];
    const whole = await loadModel({ get: async (k: string) => files.get(k) ?? null }, { kernels });
    const image = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).map((_, i) => (i * 37) % 256) };
    const ref = await whole.run(image, [8, 9, 10], { maxTokens: 3 });
    for (const chunk of [1, 7, 64, 1 << 20]) {
      const mem = new MemorySource(files, chunk);
      const source = { get: (k: string) => (gets.push(k), mem.get(k)), stream: (k: string) => mem.stream(k) };
      const model = await loadModel(source, { kernels });
      expect(model.info.streamed).toBe(true);
      const got = await model.run(image, [8, 9, 10], { maxTokens: 3 });
      expect(got.ids, `chunks of ${chunk}`).toEqual(ref.ids);
    }
    expect(gets.filter((k) => k.endsWith(".bin"))).toEqual([]); // shards only streamed, never read whole
    expect(whole.info.streamed).toBe(false);
  });

  it("loads every shard and reports its memory", async () => {
    const files = tinyModelFiles();
    const keys: string[] = [];
    const source = { get: async (k: string) => (keys.push(k), files.get(k) ?? null) };
    const model = await loadModel(source, { kernels });
    const m = manifestOf(files);
    expect(m.shards.length).toBeGreaterThan(2);
    expect(new Set(keys)).toEqual(
      new Set(["manifest.json", "config.json", "tokenizer.json", ...m.shards.map((s) => s.key)]),
    );
    expect(model.info.quantization).toBe("q8");
    expect(model.memoryBytes).toBeLessThan(2 * 1024 * 1024); // tiny model: weights + buffers < 2 MB
    expect(model.config.text.layers).toBe(3);
  });

  it("rejects a corrupt shard", async () => {
    const files = tinyModelFiles();
    const key = manifestOf(files).shards[1].key;
    const bad = files.get(key)!.slice();
    bad[100] ^= 1;
    files.set(key, bad);
    expect(await failure(files)).toMatch(new RegExp(`${key} fails its sha256 check`));
  });

  it("rejects a truncated shard", async () => {
    const files = tinyModelFiles();
    const key = manifestOf(files).shards[0].key;
    files.set(key, files.get(key)!.subarray(0, 64));
    expect(await failure(files)).toMatch(/has 64 bytes, manifest says/);
  });

  it("rejects a missing shard and a missing manifest", async () => {
    const files = tinyModelFiles();
    const key = manifestOf(files).shards[2].key;
    files.delete(key);
    expect(await failure(files)).toMatch(new RegExp(`${key} is missing`));
    files.delete("manifest.json");
    expect(await failure(files, true)).toMatch(/manifest.json is missing/);
  });

  it("rejects a manifest that does not match its config", async () => {
    const files = tinyModelFiles();
    // a config with one more LLM layer than the shards hold (its hash updated, so only the mismatch fails)
    const config = { ...TINY_CONFIG, text_config: { ...TINY_CONFIG.text_config, num_hidden_layers: 4 } };
    const bytes = new TextEncoder().encode(JSON.stringify(config));
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const m = manifestOf(files);
    m.files["config.json"] = {
      bytes: bytes.byteLength,
      sha256: [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""),
    };
    files.set("config.json", bytes);
    files.set("manifest.json", new TextEncoder().encode(JSON.stringify(m)));
    expect(await failure(files, true)).toMatch(
      /manifest lacks tensor llm\.layers\.3\..* required by config\.json/,
    );
  });

  it("rejects a config file that does not match the manifest's hash", async () => {
    const files = tinyModelFiles();
    files.set(
      "config.json",
      new TextEncoder().encode(JSON.stringify({ ...TINY_CONFIG, image_seq_length: 16 }) + " "),
    );
    expect(await failure(files, true)).toMatch(/config\.json has \d+ bytes|config\.json fails its sha256/);
  });
});
