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
    // AssemblyScript: builtins (i32, f32, load<T>, v128...) are globals the TS checker does not know.
    files: ["assembly/**/*.ts"],
    rules: { "@typescript-eslint/no-unused-vars": "off", "prefer-const": "off" },
  },
);
