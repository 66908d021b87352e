// Where weight bytes come from (docs/architecture.md): a `ByteSource` maps a key (`manifest.json`, a shard key,
// `config.json`, `tokenizer.json`) to its bytes, or null when absent. The loader is the same code for every
// source: R2 in the Worker (worker/), the file system in Node (tools/), memory in tests (here). Also the
// sha256 helper the loader checks shards with (crypto.subtle: in Node and workerd alike).

/** Key -> bytes; `null` means "no such object" (any other failure should throw). */
export interface ByteSource {
  get(key: string): Promise<Uint8Array | null>;
  /**
   * The object as a stream of chunks, or null when absent. Optional: a source that has it gets its
   * shards streamed straight into linear memory (wasm/loader.ts); one without is read whole.
   */
  stream?(key: string): Promise<ReadableStream<Uint8Array> | null>;
}

/** A ByteSource over a Map, for tests and for weights already in memory; streams in `chunkBytes` pieces. */
export class MemorySource implements ByteSource {
  constructor(
    readonly files: Map<string, Uint8Array>,
    readonly chunkBytes = 1 << 16,
  ) {}
  async get(key: string): Promise<Uint8Array | null> {
    return this.files.get(key) ?? null;
  }
  async stream(key: string): Promise<ReadableStream<Uint8Array> | null> {
    const bytes = this.files.get(key);
    if (!bytes) return null;
    let at = 0;
    const size = this.chunkBytes;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= bytes.byteLength) return controller.close();
        controller.enqueue(bytes.slice(at, (at += size)));
      },
    });
  }
}

/** Lower-case hex sha256 of `bytes` (Web Crypto). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}
