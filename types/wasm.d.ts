// A `.wasm` import is a compiled WebAssembly.Module: workerd (wrangler's CompiledWasm rule) and the
// Node test project (the wasm-module plugin in vitest.config.ts) both provide it this way.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
