// Two test projects over one tree: `node` (plain Node) and `workerd` (the Workers runtime through
// the Cloudflare vitest plugin). Kernel and engine tests run in both; Worker tests run in workerd.
import { readFileSync } from "node:fs";
import { defineConfig, type Plugin } from "vitest/config";
import { cloudflareTest } from "@cloudflare/vitest-plugin";

/** In Node, `import m from "x.wasm"` yields a compiled WebAssembly.Module, as in workerd. */
function wasmModule(): Plugin {
  return {
    name: "wasm-module",
    enforce: "pre",
    load(id) {
      if (!id.endsWith(".wasm")) return null;
      const bytes = readFileSync(id).toString("base64");
      return `export default new WebAssembly.Module(Uint8Array.from(atob(${JSON.stringify(bytes)}), (c) => c.charCodeAt(0)));`;
    },
  };
}

const shared = ["test/assembly/**/*.test.ts", "test/wasm/**/*.test.ts"];
/** Binary files tests import with `?inline` (base64 data URLs): golden fixtures and weight shards. */
const BINARY_FIXTURES = ["**/*.f32", "**/*.u8", "**/*.bin", "**/*.safetensors"];

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [wasmModule()],
        assetsInclude: BINARY_FIXTURES,
        test: { name: "node", include: [...shared, "test/tools/**/*.test.ts"], environment: "node" },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // test/worker/fuzz.test.ts: cases per property and seed (`npm run fuzz` sets them)
            miniflare: {
              bindings: { FUZZ_RUNS: process.env.FUZZ_RUNS ?? "", FUZZ_SEED: process.env.FUZZ_SEED ?? "" },
            },
          }),
        ],
        assetsInclude: BINARY_FIXTURES,
        test: { name: "workerd", include: [...shared, "test/worker/**/*.test.ts"] },
      },
      {
        // chromium (playwright-core) against `wrangler dev`: the dashboard page (test/browser/)
        test: { name: "browser", include: ["test/browser/**/*.test.ts"], environment: "node" },
      },
    ],
  },
});
