import { describe, expect, it } from "vitest";
import { convert } from "../../../tools/convert/convert";
import { readSafetensors } from "../../../tools/convert/safetensors";
import type { Manifest } from "../../../wasm/manifest";
import { parseConfig } from "../../../wasm/config";
import { tensorSpecs } from "../../../wasm/names";
import { dequantizeQ8 } from "../../../wasm/quant";
import { rng } from "../../helpers/kernels";
import { writeSafetensors } from "../../wasm/helpers/tiny";

/** A tiny but complete LLaVA config: every code path of the name table, small tensors. */
const CONFIG = {
  model_type: "llava",
  image_token_index: 3,
  image_seq_length: 4,
  image_mean: [0.5, 0.5, 0.5],
  image_std: [0.5, 0.5, 0.5],
  pad_token_id: 0,
  bos_token_id: 1,
  eos_token_id: 2,
  sep_token_id: 4,
  unk_token_id: 5,
  vision_config: {
    image_size: 16,
    patch_size: 8,
    num_channels: 3,
    hidden_size: 8,
    intermediate_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    layer_norm_eps: 1e-5,
  },
  text_config: {
    vocab_size: 10,
    hidden_size: 8,
    intermediate_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    max_position_embeddings: 32,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
  },
};

function checkpoint(): Map<string, { shape: number[]; data: Float32Array }> {
  const r = rng(7);
  const m = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const s of tensorSpecs(parseConfig(CONFIG))) {
    const shape = s.hfShape ?? s.shape;
    const n = shape.reduce((a, b) => a * b, 1);
    m.set(s.hf, { shape, data: Float32Array.from({ length: n }, () => r() * 2 - 1) });
  }
  return m;
}

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const input = (st: Uint8Array) => ({
  modelId: "tiny",
  safetensors: st,
  configJson: enc(CONFIG),
  tokenizerJson: enc({ model: { type: "WordLevel" } }),
  quantization: "q8" as const,
  shardBytes: 1024,
});

/** q8 round-trip error bound: half a quantization step of the largest row value (|w| <= 1). */
const Q8_HALF_STEP = 0.5 / 127 + 1e-7;

describe("convert", () => {
  it("writes every tensor of the name table into aligned, hashed shards", () => {
    const ckpt = checkpoint();
    const out = convert(input(writeSafetensors(ckpt)));
    const manifest = JSON.parse(new TextDecoder().decode(out.get("manifest.json"))) as Manifest;
    expect(manifest.shards.length).toBeGreaterThan(1); // 1 KiB shards force a split
    const names = manifest.shards.flatMap((s) => s.tensors.map((t) => t.name));
    expect(names).toEqual(tensorSpecs(parseConfig(CONFIG)).map((s) => s.name));
    for (const shard of manifest.shards) {
      const bytes = out.get(shard.key)!;
      expect(bytes.byteLength).toBe(shard.bytes);
      for (const t of shard.tensors) expect(t.offset % 64).toBe(0);
    }
    // A q8 tensor dequantizes back to the checkpoint within half a step.
    const spec = manifest.shards
      .flatMap((s) => s.tensors.map((t) => ({ s, t })))
      .find((x) => x.t.name === "llm.layers.1.mlp.down.weight")!;
    const shard = out.get(spec.s.key)!;
    const [n, k] = spec.t.shape;
    const data = new Int8Array(shard.buffer, shard.byteOffset + spec.t.offset, n * k);
    const scales = new Float32Array(shard.slice(spec.t.scales!.offset, spec.t.scales!.offset + n * 4).buffer);
    const back = dequantizeQ8({ data, scales }, n, k);
    const orig = ckpt.get("language_model.model.layers.1.mlp.down_proj.weight")!.data;
    for (let i = 0; i < orig.length; i++)
      expect(Math.abs(back[i] - orig[i])).toBeLessThanOrEqual(Q8_HALF_STEP);
  });

  it("names a missing tensor", () => {
    const ckpt = checkpoint();
    ckpt.delete("language_model.model.layers.1.self_attn.k_proj.weight");
    expect(() => convert(input(writeSafetensors(ckpt)))).toThrow(
      /missing tensor .*layers\.1\.self_attn\.k_proj/,
    );
  });

  it("names a tensor with the wrong shape", () => {
    const ckpt = checkpoint();
    ckpt.set("multi_modal_projector.linear_1.weight", { shape: [8, 7], data: new Float32Array(56) });
    expect(() => convert(input(writeSafetensors(ckpt)))).toThrow(/linear_1\.weight has shape \[8,7\]/);
  });

  it("rejects tensors the config does not describe", () => {
    const ckpt = checkpoint();
    ckpt.set("language_model.model.layers.2.mlp.up_proj.weight", {
      shape: [16, 8],
      data: new Float32Array(128),
    });
    expect(() => convert(input(writeSafetensors(ckpt)))).toThrow(/unexpected tensor .*layers\.2/);
  });

  it("rejects a config that contradicts itself", () => {
    const bad = { ...CONFIG, image_seq_length: 5 };
    expect(() => convert({ ...input(writeSafetensors(checkpoint())), configJson: enc(bad) })).toThrow(
      /image_seq_length/,
    );
  });

  it("reads what the writer wrote", () => {
    const st = readSafetensors(writeSafetensors(checkpoint()));
    expect(st.get("language_model.model.norm.weight")!.shape).toEqual([8]);
  });
});
