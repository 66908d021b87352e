// Seeding Miniflare's local R2 with the converted weights (weights/ -> the WEIGHTS bucket that `wrangler
// dev` reads). Goes through wrangler's getPlatformProxy, i.e. the same Miniflare storage as `wrangler dev
// --persist-to DIR` (which keeps its data under DIR/v3). Idempotent: each object carries the sha256 the
// manifest gives it as custom metadata, and an object whose sha256 already matches is skipped. Shards go
// first and manifest.json last, so the bucket never names a shard it lacks; objects the manifest no longer
// names are deleted afterwards.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { getPlatformProxy } from "wrangler";
import type { Manifest } from "../../wasm/tools";

/** Where to seed from and to. */
export interface SeedOptions {
  /** Converted weights (manifest.json, config.json, tokenizer.json, shards). */
  weightsDir: string;
  /** wrangler dev's --persist-to directory (default .wrangler/state). */
  persistTo: string;
  /** wrangler.toml with the WEIGHTS binding. */
  configPath: string;
}

/** What a seeding did. */
export interface SeedReport {
  uploaded: string[];
  unchanged: string[];
  deleted: string[];
}

/** The slice of the R2 binding the seed uses (Miniflare's, through getPlatformProxy). */
interface Bucket {
  head(key: string): Promise<{ customMetadata?: Record<string, string> } | null>;
  put(key: string, value: Uint8Array, options: { customMetadata: Record<string, string> }): Promise<unknown>;
  list(): Promise<{ objects: { key: string }[] }>;
  delete(key: string): Promise<void>;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** The objects to upload, in upload order (manifest last), with their expected sha256. */
export async function weightObjects(weightsDir: string): Promise<{ key: string; sha256: string }[]> {
  let manifestBytes: Uint8Array;
  try {
    manifestBytes = await readFile(join(weightsDir, "manifest.json"));
  } catch {
    throw new Error(
      `${join(weightsDir, "manifest.json")} not found: convert a checkpoint first (npm run convert)`,
    );
  }
  const m = JSON.parse(new TextDecoder().decode(manifestBytes)) as Manifest;
  return [
    ...m.shards.map((s) => ({ key: s.key, sha256: s.sha256 })),
    ...Object.entries(m.files).map(([key, f]) => ({ key, sha256: f.sha256 })),
    { key: "manifest.json", sha256: sha256(manifestBytes) },
  ];
}

/** Seeds the local WEIGHTS bucket from `weightsDir`. */
export async function seedLocalR2(opts: SeedOptions): Promise<SeedReport> {
  const objects = await weightObjects(opts.weightsDir);
  const proxy = await getPlatformProxy<{ WEIGHTS: Bucket }>({
    configPath: resolve(opts.configPath),
    persist: { path: join(resolve(opts.persistTo), "v3") },
    remoteBindings: false,
  });
  const report: SeedReport = { uploaded: [], unchanged: [], deleted: [] };
  try {
    const bucket = proxy.env.WEIGHTS;
    for (const o of objects) {
      const head = await bucket.head(o.key);
      if (head?.customMetadata?.sha256 === o.sha256) {
        report.unchanged.push(o.key);
        continue;
      }
      const bytes = await readFile(join(opts.weightsDir, o.key));
      if (sha256(bytes) !== o.sha256) {
        throw new Error(`${o.key} does not match its sha256 in manifest.json: reconvert the weights`);
      }
      await bucket.put(o.key, bytes, { customMetadata: { sha256: o.sha256 } });
      report.uploaded.push(o.key);
    }
    const keep = new Set(objects.map((o) => o.key));
    const listed = await bucket.list();
    for (const obj of listed.objects) {
      if (keep.has(obj.key)) continue;
      await bucket.delete(obj.key);
      report.deleted.push(obj.key);
    }
  } finally {
    await proxy.dispose();
  }
  return report;
}
