import { writeSplitConfigs } from "./config";
import { seedLocalR2 } from "../seed/seed";
import { startDevServer } from "../seed/dev";
const split = process.argv[2]; const weights = process.argv[3];
const cfg = writeSplitConfigs(split);
const persistTo = "/tmp/split-state";
await seedLocalR2({ weightsDir: weights, persistTo, configPath: "wrangler.toml" });
const srv = await startDevServer({ persistTo, configPath: cfg.front, alsoConfigs: cfg.stages, timeoutMs: 120000 });
console.log("up", srv.url);
const png = (await import("node:fs")).readFileSync("/work/main/test/fixtures/images/shapes.png").toString("base64");
for (const method of ["none", "atp", "none", "atp"]) {
  const t = performance.now();
  const r = await fetch(`${srv.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "atp-tiny", max_tokens: 8, atp: { method }, messages: [{ role: "user", content: [{ type: "text", text: "what color is the circle ?" }, { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } }] }] }) });
  const j = await r.text();
  console.log(method, r.status, (performance.now() - t).toFixed(0), j.slice(0, 700));
}
await srv.stop();
