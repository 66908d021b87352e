// Packs checked tensors into shards of a few MB: each payload 64-byte aligned, shards split at tensor
// boundaries, sha256 per shard. Pure: returns the bytes and the manifest, writes nothing.
import { createHash } from "node:crypto";
import { TENSOR_ALIGN, type ShardEntry, type TensorDtype, type TensorEntry } from "../../wasm/tools";

/** A tensor ready to store: its payload and, for q8/q4, its f32 scales. */
export interface StoredTensor {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  data: Uint8Array;
  scales?: Uint8Array;
}

/** One packed shard: its manifest entry and its bytes. */
export interface PackedShard {
  entry: ShardEntry;
  bytes: Uint8Array;
}

const align = (n: number) => Math.ceil(n / TENSOR_ALIGN) * TENSOR_ALIGN;

function storedSize(t: StoredTensor): number {
  return align(t.data.byteLength) + (t.scales ? align(t.scales.byteLength) : 0);
}

/** Splits `tensors` (in order) into shards of at most `shardBytes` (a larger single tensor gets its own). */
export function packShards(tensors: StoredTensor[], shardBytes: number, prefix = "shard"): PackedShard[] {
  const groups: StoredTensor[][] = [];
  let current: StoredTensor[] = [];
  let size = 0;
  for (const t of tensors) {
    const s = storedSize(t);
    if (current.length > 0 && size + s > shardBytes) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += s;
  }
  if (current.length > 0) groups.push(current);

  return groups.map((group, i) => {
    const total = group.reduce((a, t) => a + storedSize(t), 0);
    const bytes = new Uint8Array(total);
    const entries: TensorEntry[] = [];
    let offset = 0;
    for (const t of group) {
      bytes.set(t.data, offset);
      const entry: TensorEntry = {
        name: t.name,
        dtype: t.dtype,
        shape: t.shape,
        offset,
        bytes: t.data.byteLength,
      };
      offset += align(t.data.byteLength);
      if (t.scales) {
        bytes.set(t.scales, offset);
        entry.scales = { offset, bytes: t.scales.byteLength };
        offset += align(t.scales.byteLength);
      }
      entries.push(entry);
    }
    const key = `${prefix}-${String(i).padStart(3, "0")}.bin`;
    return { entry: { key, bytes: total, sha256: sha256Hex(bytes), tensors: entries }, bytes };
  });
}

/** Lower-case hex sha256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
