// The engine's front door (eslint.config.js, docs/architecture.md): a Worker file that imports engine
// internals, or a tool that goes past wasm/index.ts and wasm/tools.ts, fails the lint that `npm test`
// runs; the entries themselves and the compiled kernels pass. So does a tool that parses its flags past
// tools/flags.ts.
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const eslint = new ESLint();

/** The no-restricted-imports messages for `code` linted as if it were the file `path`. */
async function refused(path: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: path });
  return r.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

// ESLint with typescript-eslint takes seconds to load on a busy 2-vCPU machine: the first lint pays it.
describe("the engine's front door", { timeout: 30_000 }, () => {
  it("keeps the Worker to wasm/index.ts", async () => {
    expect(await refused("worker/x.ts", 'export { Ops } from "../wasm/engine/ops";\n')).toHaveLength(1);
    expect(await refused("worker/x.ts", 'export { KERNELS } from "../wasm/kernels";\n')).toHaveLength(1);
    expect(await refused("worker/x.ts", 'export { KERNELS } from "../wasm/tools";\n')).toHaveLength(1);
    expect(await refused("worker/a/x.ts", 'export { loadModel } from "../../wasm/index";\n')).toEqual([]);
    expect(
      await refused("worker/x.ts", 'export { default } from "../wasm/build/kernels.relaxed.wasm";\n'),
    ).toEqual([]);
  });

  it("keeps the tools to wasm/index.ts and wasm/tools.ts", async () => {
    expect(
      await refused("tools/a/x.ts", 'export { prefill } from "../../wasm/model/decoder";\n'),
    ).toHaveLength(1);
    expect(await refused("tools/a/x.ts", 'export { KERNELS } from "../../wasm/tools";\n')).toEqual([]);
    expect(await refused("tools/a/x.ts", 'export { loadModel } from "../../wasm/index";\n')).toEqual([]);
  });

  it("keeps the tools' flags to tools/flags.ts", async () => {
    const code = 'import { parseArgs } from "node:util";\nparseArgs({});\n';
    expect(await refused("tools/bench/x.ts", code)).toEqual([
      "'parseArgs' import from 'node:util' is restricted. Tools parse flags with tools/flags.ts.",
    ]);
    expect(await refused("tools/flags.ts", code)).toEqual([]);
    expect(await refused("tools/bench/x.ts", 'import { inspect } from "node:util";\n')).toEqual([]);
  });
});
