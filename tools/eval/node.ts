// Node plumbing for the engine's command-line tools: a file-system ByteSource (weights/ in Node, as R2
// is in the Worker) and the compiled kernel module read from wasm/build (Node may compile bytes; workerd
// may not, which is why the engine takes a WebAssembly.Module).
import { readFile } from "node:fs/promises";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { join, resolve } from "node:path";
import type { ByteSource, KernelBuildName } from "../../wasm/index";
import { ensureKernels } from "../build/kernels";

/** Files of one directory; a missing file is null, other errors throw. */
export class FileSource implements ByteSource {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }
  async get(key: string): Promise<Uint8Array | null> {
    if (key.includes("..") || key.startsWith("/")) throw new Error(`bad key ${key}`);
    try {
      return new Uint8Array(await readFile(join(this.dir, key)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }
  async stream(key: string): Promise<ReadableStream<Uint8Array> | null> {
    if (key.includes("..") || key.startsWith("/")) throw new Error(`bad key ${key}`);
    const path = join(this.dir, key);
    if (!existsSync(path)) return null;
    return Readable.toWeb(createReadStream(path, { highWaterMark: 1 << 20 })) as ReadableStream<Uint8Array>;
  }
}

/** Kernel builds in wasm/build (wasm/kernels.ts `KERNEL_BUILDS`). */
export type KernelBuild = KernelBuildName;

/** The compiled kernel module of `build` (built first when missing or stale). */
export function kernelModule(build: KernelBuild = "relaxed"): WebAssembly.Module {
  ensureKernels();
  const path = resolve(`wasm/build/kernels.${build}.wasm`);
  try {
    return new WebAssembly.Module(readFileSync(path));
  } catch (err) {
    throw new Error(`cannot read ${path} (run npm run build:kernels): ${(err as Error).message}`);
  }
}
