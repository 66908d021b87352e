// Loading a model from a ByteSource: manifest.json -> config.json, tokenizer.json and every shard fetched
// in parallel and checked (byte length, sha256) -> the manifest checked against the name table of the
// config -> a fresh kernel instance whose linear memory is laid out once:
//   [kernel statics | weights region (a pointer per tensor) | activation region (buffers, KV caches)]
// -> each tensor copied from its shard into the weights region (no second copy kept in JS).
// Everything that can fail (missing object, corrupt shard, config/manifest mismatch) is checked before
// the kernel instance exists; a failure throws and returns nothing, so no half-loaded model survives and
// its memory is garbage.
import { instantiateKernels } from "./kernels";
import { MANIFEST_FORMAT, type Manifest } from "./manifest";
import { COST_FORMAT, type CostTable } from "./engine/cost";
import { headDim, parseConfig } from "./config";
import { sha256Hex, type ByteSource } from "./source";
import { TextTokenizer } from "./tokenizer";
import { ensureMemory, heapStart, Region, SizeCounter } from "./arena";
import { layoutBuffers } from "./engine/buffers";
import { now } from "./engine/clock";
import { Model } from "./generate";
import { Ops } from "./engine/ops";
import { locateTensors, Weights, weightsBytes, type Precision } from "./engine/weights";

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

/** Loads the model that `source` holds. Throws (and keeps nothing) on any missing or corrupt piece. */
export async function loadModel(source: ByteSource, options: LoadOptions): Promise<Model> {
  const t0 = now();
  const precision = options.precision ?? "int8";
  const manifestBytes = await source.get("manifest.json");
  if (!manifestBytes) throw new Error("weights: manifest.json is missing from the weight source");
  const manifest = parseManifest(manifestBytes);
  const file = (key: string) =>
    fetchChecked(source, key, manifest.files[key].bytes, manifest.files[key].sha256);
  const [configBytes, tokenizerBytes, costBytes, ...shards] = await Promise.all([
    file(manifest.config),
    file(manifest.tokenizer),
    manifest.cost ? file(manifest.cost) : Promise.resolve(null),
    ...manifest.shards.map((s) => fetchChecked(source, s.key, s.bytes, s.sha256)),
  ]);
  const config = parseConfig(JSON.parse(new TextDecoder().decode(configBytes)));
  const tensors = locateTensors(manifest, config);
  const tokenizer = new TextTokenizer(JSON.parse(new TextDecoder().decode(tokenizerBytes)), config);
  const cost = costBytes ? parseCostTable(costBytes, manifest.model_id) : null;

  const k = await instantiateKernels(options.kernels);
  const wBytes = weightsBytes(tensors, precision);
  const aBytes = new SizeCounter();
  layoutBuffers(config, aBytes);
  const weightsRegion = new Region("weights", heapStart(k), wBytes);
  const actRegion = new Region("activations", weightsRegion.end, aBytes.total);
  ensureMemory(k, actRegion.end);
  const b = layoutBuffers(config, actRegion);
  const ops = new Ops(k, b);
  const w = Weights.load(tensors, shards, weightsRegion, ops, precision);
  shards.length = 0; // the shard bytes are not kept
  const t = config.text;
  ops.ropeTable(b.ropeTable, t.maxPositions, headDim(t) / 2, t.ropeTheta);
  const engine = { cfg: config, ops, w, b, trace: null };
  return new Model(engine, tokenizer, precision, {
    modelId: manifest.model_id,
    quantization: precision === "f32" ? "f32" : manifest.quantization,
    loadMs: now() - t0,
    weightsBytes: wBytes,
    cost,
  });
}
