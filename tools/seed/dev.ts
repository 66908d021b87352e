// `wrangler dev` as a child process on free ports, for tests and tools that drive the running Worker:
// started with the same flags as `npm start` (a --persist-to directory the seed wrote), ready once
// GET /health answers, stopped by killing its process group.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { seedLocalR2 } from "./seed";

/** A running dev server. */
export interface DevServer {
  url: string;
  stop(): Promise<void>;
  /** What wrangler and workerd printed so far. */
  log(): string;
}

/** A TCP port nobody listens on now. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? ok(addr.port) : fail(new Error("no port"))));
    });
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.pid === undefined) return done();
    child.once("exit", () => done());
    process.kill(-child.pid, "SIGTERM"); // the group: wrangler and its workerd
    setTimeout(() => {
      if (child.exitCode === null) process.kill(-child.pid!, "SIGKILL");
    }, 5000).unref();
  });
}

/** Starts `wrangler dev` on `persistTo`'s local state; resolves when /health answers. */
export async function startDevServer(opts: {
  persistTo: string;
  configPath?: string;
  /** More Workers run in the same dev session (their wrangler.toml), e.g. worker/tail/wrangler.toml. */
  alsoConfigs?: string[];
  timeoutMs?: number;
  vars?: Record<string, string>;
}): Promise<DevServer> {
  const [port, inspector] = [await freePort(), await freePort()];
  const args = ["dev", "--port", String(port), "--inspector-port", String(inspector), "--ip", "127.0.0.1"];
  args.push("--persist-to", resolve(opts.persistTo), "--config", resolve(opts.configPath ?? "wrangler.toml"));
  for (const c of opts.alsoConfigs ?? []) args.push("--config", resolve(c));
  for (const [k, v] of Object.entries(opts.vars ?? {})) args.push("--var", `${k}:${v}`);
  const child = spawn(resolve("node_modules/.bin/wrangler"), args, {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  let log = "";
  child.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${log}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, stop: () => stopProcess(child), log: () => log };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stopProcess(child);
  throw new Error(`wrangler dev did not answer /health in time:\n${log}`);
}

/**
 * `wrangler dev` on a fresh local R2 in a temporary directory, seeded from `weightsDir` (./seed.ts) as
 * `npm start` seeds it; stop() also removes the directory.
 */
export async function startSeededDevServer(opts: {
  weightsDir: string;
  vars?: Record<string, string>;
}): Promise<DevServer> {
  const root = mkdtempSync(join(tmpdir(), "atp-dev-"));
  const cleanup = () => rmSync(root, { recursive: true, force: true });
  try {
    const persistTo = join(root, "state");
    await seedLocalR2({ weightsDir: opts.weightsDir, persistTo, configPath: "wrangler.toml" });
    const server = await startDevServer({ persistTo, vars: opts.vars });
    return {
      ...server,
      stop: async () => {
        await server.stop();
        cleanup();
      },
    };
  } catch (err) {
    cleanup();
    throw err;
  }
}
