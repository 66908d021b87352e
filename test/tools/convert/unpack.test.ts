import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { convert } from "../../../tools/convert/convert";
import { readSafetensors } from "../../../tools/convert/safetensors";
import { unpack } from "../../../tools/convert/unpack";
import { parseConfig } from "../../../wasm/config";
import { tensorSpecs } from "../../../wasm/names";
import { tinyModelFiles } from "../../wasm/helpers/tiny";

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function reconvert(files: Map<string, Uint8Array>, quantization: "q8" | "q4", shardBytes: number) {
  const u = unpack(files);
  const manifest = JSON.parse(dec(files.get("manifest.json")!)) as { model_id: string };
  return convert({
    modelId: manifest.model_id,
    safetensors: u.get("model.safetensors")!,
    configJson: u.get("config.json")!,
    tokenizerJson: u.get("tokenizer.json")!,
    quantization,
    shardBytes,
    costJson: u.get("cost.json"),
  });
}

describe("unpack (served weights -> f32 safetensors)", () => {
  for (const quant of ["q8", "q4"] as const) {
    it(`converting the unpacked ${quant} model again gives the same files, byte for byte`, () => {
      const files = tinyModelFiles(quant);
      const again = reconvert(files, quant, 8 * 1024);
      expect([...again.keys()].sort()).toEqual([...files.keys()].sort());
      for (const [name, bytes] of files) expect(Buffer.compare(again.get(name)!, bytes), name).toBe(0);
    });
  }

  it("writes every tensor of the name table under its Hugging Face name and checkpoint shape", () => {
    const files = tinyModelFiles("q8");
    const u = unpack(files);
    const config = parseConfig(JSON.parse(dec(u.get("config.json")!)));
    const st = readSafetensors(u.get("model.safetensors")!);
    const specs = tensorSpecs(config);
    expect([...st.keys()].sort()).toEqual(specs.map((s) => s.hf).sort());
    for (const s of specs) expect(st.get(s.hf)!.shape).toEqual(s.hfShape ?? s.shape);
  });

  it("round-trips the served weights in weights/", () => {
    const files = new Map<string, Uint8Array>();
    for (const f of readdirSync("weights")) {
      if (f.endsWith(".json") || f.endsWith(".bin")) files.set(f, readFileSync(`weights/${f}`));
    }
    const again = reconvert(files, "q8", 4 * 1024 * 1024);
    for (const [name, bytes] of again) expect(Buffer.compare(bytes, files.get(name)!), name).toBe(0);
  });

  it("names the missing shard", () => {
    const files = tinyModelFiles("q8");
    files.delete("shard-000.bin");
    expect(() => unpack(files)).toThrow(/shard-000\.bin/);
  });
});
