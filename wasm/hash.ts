// Incremental sha256 for shards streamed into linear memory (wasm/loader.ts): the chunks of a shard go
// through the hash as they arrive, so no shard is ever held whole in JS. In workerd, Cloudflare's native
// `crypto.DigestStream`; elsewhere (Node tools, tests) @noble/hashes, the maintained pure-JS one.
import { sha256 } from "@noble/hashes/sha2.js";

/** A sha256 fed chunk by chunk. */
export interface Sha256Stream {
  /** Adds `chunk` (its bytes are read before the returned promise settles; keep it unchanged till then). */
  update(chunk: Uint8Array): Promise<void>;
  /** Lower-case hex digest of everything added. */
  hex(): Promise<string>;
}

interface DigestStreamLike {
  getWriter(): { write(c: Uint8Array): Promise<void>; close(): Promise<void> };
  digest: Promise<ArrayBuffer>;
}
type DigestStreamCtor = new (algorithm: string) => DigestStreamLike;

const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** Which implementation `sha256Stream` uses here. */
export function sha256Impl(): "DigestStream" | "noble" {
  return typeof (crypto as unknown as { DigestStream?: unknown }).DigestStream === "function"
    ? "DigestStream"
    : "noble";
}

/** A fresh incremental sha256. */
export function sha256Stream(): Sha256Stream {
  if (sha256Impl() === "DigestStream") {
    const Ctor = (crypto as unknown as { DigestStream: DigestStreamCtor }).DigestStream;
    const ds = new Ctor("SHA-256");
    const writer = ds.getWriter();
    return {
      update: (chunk) => writer.write(chunk),
      hex: async () => {
        await writer.close();
        return toHex(new Uint8Array(await ds.digest));
      },
    };
  }
  const h = sha256.create();
  return {
    update: async (chunk) => void h.update(chunk),
    hex: async () => toHex(h.digest()),
  };
}
