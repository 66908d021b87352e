// tools/eval/cli.ts's flag handling, run as the command it is: --help prints the usage (exit 0), an
// unknown flag prints the message and the usage (exit 2), neither a stack trace.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const run = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "tools/eval/cli.ts", ...args], { encoding: "utf8" });

describe("npm run eval flags", () => {
  it("--help prints the usage and exits 0", () => {
    const r = run("--help");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run eval -- \(--split val\|test/);
    expect(r.stdout).toMatch(/methods: none, .*atp/);
  });

  it("an unknown flag names it, prints the usage and exits 2", () => {
    const r = run("--splt", "val");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/eval: Unknown option '--splt'/);
    expect(r.stderr).toMatch(/usage: npm run eval/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack frames
  });
});
