// Project types for the Workers runtime: `env` and `ctx.exports` (and the test-side `exports`).
type WorkerEnv = import("../worker/env").Env;

declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import("../worker/index");
  }
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Env extends WorkerEnv {}
}
