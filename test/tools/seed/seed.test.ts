// Seeding Miniflare's local R2 (tools/seed): the first run uploads everything, a second run nothing, a
// changed conversion only the objects whose sha256 changed (manifest last) and removes shards the new
// manifest no longer names; a weights folder without a manifest is refused with a clear message.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { seedLocalR2 } from "../../../tools/seed/seed";
import { tinyModelFiles } from "../../wasm/helpers/tiny";

const root = mkdtempSync(join(tmpdir(), "atp-seed-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function writeWeights(dir: string, files: Map<string, Uint8Array>): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  for (const [k, v] of files) writeFileSync(join(dir, k), v);
  return dir;
}

describe("seedLocalR2", () => {
  const persistTo = join(root, "state");
  const opts = (weightsDir: string) => ({ weightsDir, persistTo, configPath: "wrangler.toml" });

  it("uploads once, skips what is unchanged, replaces what changed, deletes stale shards", async () => {
    const q8 = tinyModelFiles("q8", 1);
    const dir = writeWeights(join(root, "w"), q8);
    const first = await seedLocalR2(opts(dir));
    expect([...first.uploaded].sort()).toEqual([...q8.keys()].sort());
    expect(first.uploaded.at(-1)).toBe("manifest.json");

    const again = await seedLocalR2(opts(dir));
    expect(again).toEqual({ uploaded: [], unchanged: first.uploaded, deleted: [] });

    const q4 = tinyModelFiles("q4", 1); // other shard bytes, fewer shards; same config and tokenizer
    writeWeights(dir, q4);
    const changed = await seedLocalR2(opts(dir));
    expect([...changed.unchanged].sort()).toEqual(["config.json", "tokenizer.json"]);
    expect(changed.uploaded.at(-1)).toBe("manifest.json");
    const stale = [...q8.keys()].filter((k) => !q4.has(k));
    expect(stale.length).toBeGreaterThan(0);
    expect([...changed.deleted].sort()).toEqual(stale.sort());
  }, 60_000);

  it("refuses a folder without manifest.json", async () => {
    const empty = mkdtempSync(join(root, "empty-"));
    await expect(seedLocalR2(opts(empty))).rejects.toThrow(/manifest\.json not found.*npm run convert/);
  });
});
