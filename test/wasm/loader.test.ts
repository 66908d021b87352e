// The loader's failure modes: a corrupt, truncated or missing shard, a missing manifest, and a manifest
// that does not match its config are clear errors, raised before any kernel instance (and its linear
// memory) exists, so nothing half-loaded survives. And a good load: every tensor placed, memory bounded.
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadModel, MemorySource } from "../../wasm/index";
import type { Manifest } from "../../wasm/manifest";
import { BUILDS } from "../helpers/kernels";
import { TINY_CONFIG, tinyModelFiles } from "./helpers/tiny";

const kernels = BUILDS[0].module;
const manifestOf = (files: Map<string, Uint8Array>) =>
  JSON.parse(new TextDecoder().decode(files.get("manifest.json"))) as Manifest;

/** Loads `files`, counting kernel instantiations; returns the rejection's message. */
async function failure(files: Map<string, Uint8Array>): Promise<string> {
  const spy = vi.spyOn(WebAssembly, "instantiate");
  const err = await loadModel(new MemorySource(files), { kernels }).then(
    () => null,
    (e: Error) => e,
  );
  expect(err, "load should fail").not.toBeNull();
  expect(spy).not.toHaveBeenCalled(); // failed before any linear memory was made
  return err!.message;
}

afterEach(() => vi.restoreAllMocks());

describe("loadModel", () => {
  it("loads every shard in parallel and reports its memory", async () => {
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
    expect(await failure(files)).toMatch(/manifest.json is missing/);
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
    expect(await failure(files)).toMatch(/manifest lacks tensor llm\.layers\.3\..* required by config\.json/);
  });

  it("rejects a config file that does not match the manifest's hash", async () => {
    const files = tinyModelFiles();
    files.set(
      "config.json",
      new TextEncoder().encode(JSON.stringify({ ...TINY_CONFIG, image_seq_length: 16 }) + " "),
    );
    expect(await failure(files)).toMatch(/config\.json has \d+ bytes|config\.json fails its sha256/);
  });
});
