// tools/flags.ts: every tool's flags. parseFlags itself with an injected exit, and one command run as
// it is (bench:oneword, which used to crash on --help). Eval's unknown flag: test/tools/eval/cli.test.ts;
// the lint rule that keeps the tools on parseFlags: test/tools/lint.test.ts.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseFlags, type FlagsExit } from "../../tools/flags";

class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function capture(): FlagsExit & { printed: string[]; errors: string[] } {
  const printed: string[] = [];
  const errors: string[] = [];
  return {
    printed,
    errors,
    out: (t) => printed.push(t),
    err: (t) => errors.push(t),
    exit: (code) => {
      throw new Exited(code);
    },
  };
}

const OPTIONS = { count: { type: "string", default: "4" }, quick: { type: "boolean" } } as const;

describe("parseFlags", () => {
  it("returns the values, defaults filled in", () => {
    const { values } = parseFlags("t", "usage: t", OPTIONS, { argv: ["--quick"], exit: capture() });
    expect(values).toEqual({ count: "4", quick: true });
  });

  it("--help and -h print the usage and exit 0", () => {
    for (const flag of ["--help", "-h"]) {
      const exit = capture();
      expect(() => parseFlags("t", "usage: t [--count N]", OPTIONS, { argv: [flag], exit })).toThrow(
        new Exited(0),
      );
      expect(exit.printed).toEqual(["usage: t [--count N]"]);
      expect(exit.errors).toEqual([]);
    }
  });

  it("a refused flag names the tool and the reason, prints the usage and exits 2", () => {
    for (const argv of [["--cout", "3"], ["--count"], ["--quick=yes"], ["stray"]]) {
      const exit = capture();
      expect(() => parseFlags("t", "usage: t", OPTIONS, { argv, exit })).toThrow(new Exited(2));
      expect(exit.errors).toHaveLength(1);
      expect(exit.errors[0]).toMatch(/^t: .+\nusage: t$/);
    }
  });
});

describe("the tools' flags", () => {
  it("npm run bench:oneword -- --help prints its usage and exits 0", { timeout: 60_000 }, () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "tools/bench/oneword.ts", "--help"], {
      encoding: "utf8",
    });
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run bench:oneword/);
  });
});
