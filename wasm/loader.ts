// Loading a model from a ByteSource: manifest.json -> config.json and tokenizer.json checked -> the
// manifest checked against the name table of the config -> a fresh kernel instance whose linear memory is
// laid out once:
//   [kernel statics | weights region (a pointer per tensor) | activation region (buffers, KV caches)]
// -> the shards streamed one after another straight into the weights region, each chunk copied to its
// tensor's place and hashed on the way, length and sha256 checked at the end of each shard (a source
// that cannot stream, or precision f32, reads the shards whole first and checks them before copying).
// A failure anywhere (missing object, corrupt shard, config/manifest mismatch) throws and returns
// nothing, so no half-loaded model survives: its kernel instance and memory are garbage.
import { instantiateKernels } from "./kernels";
import { MANIFEST_FORMAT, type Manifest, type ShardEntry } from "./manifest";
import { COST_FORMAT, type CostTable } from "./engine/cost";
import { headDim, parseConfig, type ModelConfig } from "./config";
import { wholeModel, type ModelPart } from "./names";
import type { Engine } from "./engine/context";
import { sha256Hex, type ByteSource } from "./source";
import { TextTokenizer } from "./tokenizer";
import { ensureMemory, heapStart, Region, SizeCounter } from "./arena";
import { layoutBuffers } from "./engine/buffers";
import { now } from "./engine/clock";
import { Model } from "./generate";
import { Ops } from "./engine/ops";
import { locateTensors, Weights, weightsBytes, type Placed, type Precision } from "./engine/weights";
import { sha256Stream } from "./hash";

/** How to load. */
export interface LoadOptions {
  /** The compiled kernel module (import it as a module: workerd cannot compile bytes at run time). */
  kernels: WebAssembly.Module;
  /** `int8` (default): Linear weights as stored (q8/q4 kernels); `f32`: dequantized at load. */
  precision?: Precision;
}

async function fetchChecked(
  src: ByteSource,
  key: string,
  bytes: number,
  sha256: string,
): Promise<Uint8Array> {
  const data = await src.get(key);
  if (!data) throw new Error(`weights: ${key} is missing from the weight source`);
  if (data.byteLength !== bytes) {
    throw new Error(
      `weights: ${key} has ${data.byteLength} bytes, manifest says ${bytes} (corrupt or truncated)`,
    );
  }
  const got = await sha256Hex(data);
  if (got !== sha256)
    throw new Error(`weights: ${key} fails its sha256 check (corrupt): ${got} != ${sha256}`);
  return data;
}

function parseManifest(bytes: Uint8Array): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(new TextDecoder().decode(bytes)) as Manifest;
  } catch {
    throw new Error("weights: manifest.json is not valid JSON");
  }
  if (m.format !== MANIFEST_FORMAT)
    throw new Error(`weights: manifest.json has format ${m.format}, expected ${MANIFEST_FORMAT}`);
  if (!Array.isArray(m.shards) || !m.files?.[m.config] || !m.files?.[m.tokenizer]) {
    throw new Error("weights: manifest.json lacks shards, config or tokenizer entries");
  }
  return m;
}

function parseCostTable(bytes: Uint8Array, modelId: string): CostTable {
  let t: CostTable;
  try {
    t = JSON.parse(new TextDecoder().decode(bytes)) as CostTable;
  } catch {
    throw new Error("weights: the cost table is not valid JSON");
  }
  if (t.format !== COST_FORMAT || !Array.isArray(t.platforms))
    throw new Error(`weights: the cost table has format ${t.format}, expected ${COST_FORMAT}`);
  if (t.modelId !== modelId)
    throw new Error(`weights: the cost table is for ${t.modelId}, the manifest serves ${modelId}`);
  return t;
}

/**
 * Streams shard `i` into the places of its tensors: each chunk is copied into linear memory where its
 * bytes belong (alignment gaps are skipped) and goes through the shard's sha256; the length and digest
 * are checked at the end. Nothing but the chunk in hand is held in JS.
 */
async function streamShard(
  stream: ReadableStream<Uint8Array>,
  shard: ShardEntry,
  placed: Placed[],
  memory: () => ArrayBuffer,
): Promise<void> {
  const segments = placed
    .flatMap((p) => [
      { from: p.entry.offset, bytes: p.entry.bytes, dest: p.data },
      ...(p.entry.scales
        ? [{ from: p.entry.scales.offset, bytes: p.entry.scales.bytes, dest: p.scales }]
        : []),
    ])
    .sort((a, b) => a.from - b.from);
  const hash = sha256Stream();
  const reader = stream.getReader();
  let pos = 0;
  let next = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const end = pos + value.byteLength;
      if (end > shard.bytes)
        throw new Error(
          `weights: ${shard.key} is longer than the ${shard.bytes} bytes the manifest says (corrupt)`,
        );
      for (let i = next; i < segments.length && segments[i].from < end; i++) {
        const s = segments[i];
        const a = Math.max(s.from, pos);
        const b = Math.min(s.from + s.bytes, end);
        if (b > a)
          new Uint8Array(memory(), s.dest + (a - s.from), b - a).set(value.subarray(a - pos, b - pos));
        if (s.from + s.bytes <= end) next = i + 1;
      }
      await hash.update(value);
      pos = end;
    }
  } finally {
    reader.releaseLock();
  }
  if (pos !== shard.bytes)
    throw new Error(
      `weights: ${shard.key} has ${pos} bytes, manifest says ${shard.bytes} (corrupt or truncated)`,
    );
  const got = await hash.hex();
  if (got !== shard.sha256)
    throw new Error(`weights: ${shard.key} fails its sha256 check (corrupt): ${got} != ${shard.sha256}`);
}

/** The manifest, config, tokenizer and cost table bytes of a model, each checked (no shards read). */
export async function readModelHead(source: ByteSource): Promise<{
  manifest: Manifest;
  config: ModelConfig;
  tokenizer: TextTokenizer;
  costBytes: Uint8Array | null;
}> {
  const manifestBytes = await source.get("manifest.json");
  if (!manifestBytes) throw new Error("weights: manifest.json is missing from the weight source");
  const manifest = parseManifest(manifestBytes);
  const file = (key: string) =>
    fetchChecked(source, key, manifest.files[key].bytes, manifest.files[key].sha256);
  const [configBytes, tokenizerBytes, costBytes] = await Promise.all([
    file(manifest.config),
    file(manifest.tokenizer),
    manifest.cost ? file(manifest.cost) : Promise.resolve(null),
  ]);
  const config = parseConfig(JSON.parse(new TextDecoder().decode(configBytes)));
  const tokenizer = new TextTokenizer(JSON.parse(new TextDecoder().decode(tokenizerBytes)), config);
  return { manifest, config, tokenizer, costBytes };
}

/** A loaded engine (kernel instance, weights, buffers) with what the Model or a Stage wraps around it. */
export interface LoadedEngine {
  engine: Engine;
  tokenizer: TextTokenizer;
  info: Model["info"];
}

/**
 * Loads `part` of the model that `source` holds (default: all of it): only the part's tensors are placed
 * and only the shards holding them are read; buffers are sized for the part. Throws (and keeps nothing)
 * on any missing or corrupt piece.
 */
export async function loadEngine(
  source: ByteSource,
  options: LoadOptions,
  part?: ModelPart,
  partOf?: (config: ModelConfig) => ModelPart,
): Promise<LoadedEngine> {
  const t0 = now();
  const precision = options.precision ?? "int8";
  const { manifest, config, tokenizer, costBytes } = await readModelHead(source);
  const whole = part ?? partOf?.(config) ?? wholeModel(config);
  const tensors = locateTensors(manifest, config, whole);
  const needed = [...new Set(tensors.map((t) => t.shard))].sort((a, b) => a - b);
  // Streamed when the source can (int8: the stored bytes are what linear memory holds); else read whole.
  const streamed = source.stream !== undefined && precision === "int8";
  const shards: Uint8Array[] = [];
  if (!streamed) {
    const got = await Promise.all(
      needed.map((i) =>
        fetchChecked(source, manifest.shards[i].key, manifest.shards[i].bytes, manifest.shards[i].sha256),
      ),
    );
    needed.forEach((i, j) => (shards[i] = got[j]));
  }
  const cost = costBytes ? parseCostTable(costBytes, manifest.model_id) : null;

  const k = await instantiateKernels(options.kernels);
  const wBytes = weightsBytes(tensors, precision);
  const aBytes = new SizeCounter();
  layoutBuffers(config, aBytes, whole);
  const weightsRegion = new Region("weights", heapStart(k), wBytes);
  const actRegion = new Region("activations", weightsRegion.end, aBytes.total);
  ensureMemory(k, actRegion.end);
  const b = layoutBuffers(config, actRegion, whole);
  const ops = new Ops(k, b);
  let w: Weights;
  if (streamed) {
    const placed = Weights.place(tensors, weightsRegion);
    w = placed.w;
    for (const i of needed) {
      const shard = manifest.shards[i];
      const stream = await source.stream!(shard.key);
      if (!stream) throw new Error(`weights: ${shard.key} is missing from the weight source`);
      await streamShard(
        stream,
        shard,
        placed.placed.filter((p) => p.shard === i),
        () => k.memory.buffer,
      );
    }
    w.finish(ops);
  } else {
    w = Weights.load(tensors, shards, weightsRegion, ops, precision);
    shards.length = 0; // the shard bytes are not kept
  }
  const t = config.text;
  if (whole.to > whole.from) ops.ropeTable(b.ropeTable, t.maxPositions, headDim(t) / 2, t.ropeTheta);
  return {
    engine: { cfg: config, ops, w, b, trace: null },
    tokenizer,
    info: {
      modelId: manifest.model_id,
      quantization: precision === "f32" ? "f32" : manifest.quantization,
      loadMs: now() - t0,
      weightsBytes: wBytes,
      memoryBytes: k.memory.buffer.byteLength,
      streamed,
      cost,
    },
  };
}

/** Loads the model that `source` holds. Throws (and keeps nothing) on any missing or corrupt piece. */
export async function loadModel(source: ByteSource, options: LoadOptions): Promise<Model> {
  const { engine, tokenizer, info } = await loadEngine(source, options);
  return new Model(engine, tokenizer, options.precision ?? "int8", info);
}
