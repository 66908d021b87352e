// Weights in linear memory: checks the manifest against the model's name table (wasm/model/names.ts),
// sizes the weights region, and copies each tensor from its (already verified) shard straight into that
// region, once (formats: wasm/quant.ts). Precision `int8` keeps Linear weights as stored (q8 + per-row sums for the relaxed GEMM,
// or q4); precision `f32` dequantizes them at load into f32 (the parity path).
import type { Manifest, TensorEntry } from "../manifest";
import type { ModelConfig } from "../config";
import { inPart, tensorSpecs, wholeModel, type ModelPart, type TensorSpec } from "../names";
import type { Ptr } from "../kernels";
import { QUANT_FORMATS, tensorBytes } from "../quant";
import { SizeCounter, type Region } from "../arena";
import type { LinearWeight, Ops } from "./ops";

/** How Linear weights are held and run: as stored (q8/q4 kernels) or dequantized to f32. */
export type Precision = "int8" | "f32";

/** A manifest tensor joined with its spec and the shard it lives in. */
export interface Located {
  spec: TensorSpec;
  entry: TensorEntry;
  shard: number;
}

/** A located tensor with its place in linear memory: payload at `data`, f32 scales at `scales` (or 0). */
export interface Placed extends Located {
  data: Ptr;
  scales: Ptr;
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Joins manifest entries with the name table; throws a message naming the first tensor that is missing,
 * unexpected, misshapen, of the wrong dtype or out of its shard's bounds.
 */
export function locateTensors(
  manifest: Manifest,
  config: ModelConfig,
  part: ModelPart = wholeModel(config),
): Located[] {
  const byName = new Map<string, { entry: TensorEntry; shard: number }>();
  manifest.shards.forEach((s, shard) => {
    for (const entry of s.tensors) {
      if (byName.has(entry.name)) throw new Error(`weights: tensor ${entry.name} listed twice`);
      const end = Math.max(
        entry.offset + entry.bytes,
        entry.scales ? entry.scales.offset + entry.scales.bytes : 0,
      );
      if (entry.offset < 0 || end > s.bytes)
        throw new Error(`weights: tensor ${entry.name} overruns ${s.key}`);
      byName.set(entry.name, { entry, shard });
    }
  });
  const out: Located[] = [];
  for (const spec of tensorSpecs(config)) {
    if (!inPart(spec.name, config, part)) {
      byName.delete(spec.name); // another stage's tensor
      continue;
    }
    const found = byName.get(spec.name);
    if (!found) throw new Error(`weights: manifest lacks tensor ${spec.name} required by config.json`);
    byName.delete(spec.name);
    const { entry } = found;
    if (entry.shape.join(",") !== spec.shape.join(",")) {
      throw new Error(
        `weights: tensor ${spec.name} has shape [${entry.shape}], config.json says [${spec.shape}]`,
      );
    }
    if (!spec.linear && entry.dtype !== "f32") throw new Error(`weights: tensor ${spec.name} must be f32`);
    const want = tensorBytes(entry.dtype, entry.shape);
    if (entry.bytes !== want.data || (entry.scales?.bytes ?? 0) !== want.scales) {
      throw new Error(`weights: tensor ${spec.name} (${entry.dtype}) has the wrong byte size`);
    }
    out.push({ spec, entry, shard: found.shard });
  }
  const extra = byName.keys().next();
  if (!extra.done)
    throw new Error(`weights: manifest has tensor ${extra.value} that config.json does not describe`);
  return out;
}

/** Bytes the weights region needs for these tensors at `precision`. */
export function weightsBytes(tensors: Located[], precision: Precision): number {
  const c = new SizeCounter();
  for (const { entry } of tensors) {
    if (entry.dtype === "f32" || precision === "f32") c.add(count(entry.shape) * 4);
    else {
      c.add(entry.bytes).add(entry.scales!.bytes);
      if (entry.dtype === "q8") c.add(entry.shape[0] * 4);
    }
  }
  return c.total;
}

/** Tensors by engine name once in linear memory. */
export class Weights {
  private readonly vectors = new Map<string, Ptr>();
  private readonly linears = new Map<string, LinearWeight>();

  /** Pointer to an f32 tensor (norm weights, biases, embeddings, position table). */
  vec(name: string): Ptr {
    const p = this.vectors.get(name);
    if (p === undefined) throw new Error(`weights: no f32 tensor ${name}`);
    return p;
  }
  /** Whether the tensor `name` is loaded (f32 or Linear). */
  has(name: string): boolean {
    return this.vectors.has(name) || this.linears.has(name);
  }
  /** Pointer to an optional f32 tensor, 0 when the model has none (a Linear without bias). */
  maybe(name: string): Ptr {
    return this.vectors.get(name) ?? 0;
  }
  /** A Linear weight. */
  linear(name: string): LinearWeight {
    const w = this.linears.get(name);
    if (!w) throw new Error(`weights: no Linear weight ${name}`);
    return w;
  }

  /**
   * Reserves every tensor's place in `region` as stored (precision int8: q8/q4 kept, f32 as is) and
   * registers it; the bytes arrive later (`copyFrom`, or streamed by the loader), then `finish` runs.
   */
  static place(tensors: Located[], region: Region): { w: Weights; placed: Placed[] } {
    const w = new Weights();
    const placed: Placed[] = [];
    for (const loc of tensors) {
      const { spec, entry } = loc;
      const data = region.alloc(entry.bytes);
      const scales = entry.scales ? region.alloc(entry.scales.bytes) : 0;
      placed.push({ ...loc, data, scales });
      if (!spec.linear) {
        w.vectors.set(spec.name, data);
        continue;
      }
      const [n, k] = entry.shape;
      const lw: LinearWeight = { name: spec.name, dtype: entry.dtype, n, k, data, scales, wsum: 0 };
      if (entry.dtype === "q8") lw.wsum = region.alloc(n * 4);
      w.linears.set(spec.name, lw);
    }
    return { w, placed };
  }

  /** Load-time precomputation once the bytes are in place: the q8 row sums of the relaxed GEMM. */
  finish(ops: Ops): void {
    for (const lw of this.linears.values())
      if (lw.dtype === "q8") ops.weightSums(lw.data, lw.wsum, lw.n, lw.k);
  }

  /** Copies every tensor from its shard into `region` (converting per `precision`). */
  static load(
    tensors: Located[],
    shards: Uint8Array[],
    region: Region,
    ops: Ops,
    precision: Precision,
  ): Weights {
    const mem = () => ops.k.memory.buffer;
    if (precision === "int8") {
      const { w, placed } = Weights.place(tensors, region);
      for (const p of placed) {
        const src = shards[p.shard];
        new Uint8Array(mem(), p.data, p.entry.bytes).set(
          src.subarray(p.entry.offset, p.entry.offset + p.entry.bytes),
        );
        const sc = p.entry.scales;
        if (sc) new Uint8Array(mem(), p.scales, sc.bytes).set(src.subarray(sc.offset, sc.offset + sc.bytes));
      }
      w.finish(ops);
      return w;
    }
    const w = new Weights();
    for (const { spec, entry, shard } of tensors) {
      const src = shards[shard];
      const payload = src.subarray(entry.offset, entry.offset + entry.bytes);
      if (!spec.linear) {
        const p = region.alloc(entry.bytes);
        new Uint8Array(mem(), p, entry.bytes).set(payload);
        w.vectors.set(spec.name, p);
        continue;
      }
      const [n, k] = entry.shape;
      const lw: LinearWeight = { name: spec.name, dtype: "f32", n, k, data: 0, scales: 0, wsum: 0 };
      if (entry.dtype === "f32") {
        lw.data = region.alloc(entry.bytes);
        new Uint8Array(mem(), lw.data, entry.bytes).set(payload);
      } else {
        const scales = readF32(src, entry.scales!.offset, entry.scales!.bytes / 4);
        lw.data = region.alloc(n * k * 4);
        QUANT_FORMATS[entry.dtype].dequantize(payload, scales, n, k, new Float32Array(mem(), lw.data, n * k));
      }
      w.linears.set(spec.name, lw);
    }
    return w;
  }
}

/** Little-endian f32 values at a byte offset (shards are byte arrays at any alignment). */
function readF32(src: Uint8Array, offset: number, n: number): Float32Array {
  const dv = new DataView(src.buffer, src.byteOffset + offset, n * 4);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}
