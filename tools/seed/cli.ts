// npm run seed -- --help prints the flags (USAGE below).
// Puts the converted weights into Miniflare's local R2 (what `wrangler dev --persist-to` reads); uploads
// only objects whose sha256 changed. `npm start` runs it before `wrangler dev`.
import { seedLocalR2 } from "./seed";
import { parseFlags } from "../flags";

const USAGE = `usage: npm run seed -- [--weights weights] [--persist-to .wrangler/state] [--config wrangler.toml]`;

const { values } = parseFlags("seed", USAGE, {
  weights: { type: "string", default: "weights" },
  "persist-to": { type: "string", default: ".wrangler/state" },
  config: { type: "string", default: "wrangler.toml" },
});

seedLocalR2({ weightsDir: values.weights!, persistTo: values["persist-to"]!, configPath: values.config! })
  .then((r) => {
    const list = (keys: string[]) => (keys.length ? `: ${keys.join(", ")}` : "");
    console.log(`seed: ${r.uploaded.length} uploaded${list(r.uploaded)}`);
    console.log(`seed: ${r.unchanged.length} unchanged, ${r.deleted.length} deleted${list(r.deleted)}`);
  })
  .catch((err: Error) => {
    console.error(`seed: ${err.message}`);
    process.exit(1);
  });
