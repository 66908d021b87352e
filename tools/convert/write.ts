// Writes a converted model (file name -> bytes) into a folder atomically: everything goes to a temporary
// folder beside it first, so a failed write leaves the previous weights untouched. Files in the folder
// that the converter does not own (README.md, the model card) are kept.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";

/** Replaces the model files of `out` by `files`. */
export function writeModelDir(files: Map<string, Uint8Array>, out: string): void {
  mkdirSync(dirname(out), { recursive: true });
  const tmp = mkdtempSync(join(dirname(out), `.${basename(out)}-`));
  chmodSync(tmp, 0o755); // mkdtemp makes it private; the result is an ordinary folder
  try {
    for (const [name, bytes] of files) writeFileSync(join(tmp, name), bytes);
    if (existsSync(out)) {
      for (const f of readdirSync(out)) {
        if (!files.has(f) && !/^shard-\d+\.bin$/.test(f)) renameSync(join(out, f), join(tmp, f));
      }
      rmSync(out, { recursive: true });
    }
    renameSync(tmp, out);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
