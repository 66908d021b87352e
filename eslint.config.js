// One lint configuration for the TypeScript tree (AssemblyScript included: it parses as TypeScript).
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "wasm/build/**", ".wrangler/**", "training/**", "weights/**", "docs/**"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // The engine's front door (docs/architecture.md): the Worker reaches wasm/ only through wasm/index.ts,
    // the tools through it or wasm/tools.ts; compiled kernels (wasm/build) are imported as modules.
    files: ["worker/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/wasm/*", "**/wasm/*/**", "!**/wasm/index", "!**/wasm/build", "!**/wasm/build/*"],
              message: "The Worker imports the engine only through wasm/index.ts.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["tools/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: [
                "**/wasm/*",
                "**/wasm/*/**",
                "!**/wasm/index",
                "!**/wasm/tools",
                "!**/wasm/build",
                "!**/wasm/build/*",
              ],
              message: "Tools import the engine only through wasm/index.ts or wasm/tools.ts.",
            },
          ],
          // tools/flags.ts: every tool's flags, with --help and a usage on a refused flag
          paths: [
            {
              name: "node:util",
              importNames: ["parseArgs"],
              message: "Tools parse flags with tools/flags.ts.",
            },
          ],
        },
      ],
    },
  },
  { files: ["tools/flags.ts"], rules: { "no-restricted-imports": "off" } },
  {
    // AssemblyScript: builtins (i32, f32, load<T>, v128...) are globals the TS checker does not know.
    files: ["assembly/**/*.ts"],
    rules: { "@typescript-eslint/no-unused-vars": "off", "prefer-const": "off" },
  },
);
