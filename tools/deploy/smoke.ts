// npx tsx tools/deploy/smoke.ts --help prints the flags (USAGE below).
// Checks a running deployment against the engine and measures what HTTP adds. For the first --count
// questions of an exported split (DIR from `npm run data:export -- --split test --out DIR`):
//   - the engine in Node on the same weights, as `npm run eval` runs it (data/test.images.u8 pixels and the
//     split's token ids), and on the PNG's decoded pixels;
//   - the API, non-streaming and streaming; answers must be identical to the engine's;
//   - per streamed token: client inter-arrival time vs the Worker's own decode ms/token, and time to first
//     token at the client vs the Worker's engine TTFT.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decode } from "fast-png";
import { FileSource, kernelModule } from "../eval/node";
import { itemImage, loadSplit } from "../eval/data";
import { MAX_ANSWER_TOKENS } from "../eval/run";
import { loadModel } from "../../wasm/index";
import { parseFlags } from "../flags";

const USAGE = `usage: npx tsx tools/deploy/smoke.ts --url http://127.0.0.1:8787 [--weights weights] [--images DIR] [--count 8]
    [--data data] [--key KEY] [--family caption]`;

const { values } = parseFlags("smoke.ts", USAGE, {
  url: { type: "string", default: "http://127.0.0.1:8787" },
  weights: { type: "string", default: "weights" },
  images: { type: "string", default: "/tmp/shapes-test" },
  data: { type: "string", default: "data" },
  count: { type: "string", default: "8" },
  key: { type: "string" },
  family: { type: "string" },
});

interface Line {
  family: string;
  image: string;
  question: string;
  answer: string;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

async function streamed(body: object) {
  const t0 = performance.now();
  const res = await fetch(`${values.url}/v1/chat/completions`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(values.key ? { Authorization: `Bearer ${values.key}` } : {}),
    },
    body: JSON.stringify({ ...body, stream: true }),
  });
  const reader = res.body!.getReader();
  const arrivals: number[] = [];
  let text = "";
  let buf = "";
  let stats: { timings: { ttft_ms: number; decode_ms_per_token: number } } | undefined;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const t = performance.now() - t0;
    buf += new TextDecoder().decode(value);
    let cut: number;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const ev = buf.slice(6, cut);
      buf = buf.slice(cut + 2);
      if (ev === "[DONE]") continue;
      const chunk = JSON.parse(ev) as { choices: { delta: { content?: string } }[]; atp?: typeof stats };
      const piece = chunk.choices[0]?.delta.content;
      if (piece) {
        text += piece;
        arrivals.push(t);
      }
      if (chunk.atp) stats = chunk.atp;
    }
  }
  return { text, arrivals, stats: stats! };
}

async function main(): Promise<void> {
  const lines = readFileSync(join(values.images!, "questions.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => !values.family || l.family === values.family)
    .slice(0, Number(values.count));
  const evalItems = loadSplit(values.data!, "test");
  const model = await loadModel(new FileSource(values.weights!), { kernels: kernelModule("relaxed") });
  const rows: string[] = [];
  let same = 0;
  const apiTtft: number[] = [];
  const workerTtft: number[] = [];
  const nodeTtft: number[] = [];
  const gaps: number[] = [];
  const workerDecode: number[] = [];
  const nodeDecode: number[] = [];
  for (const q of lines) {
    const png = readFileSync(join(values.images!, q.image));
    const p = decode(png);
    const pixels = { data: p.data as Uint8Array, width: p.width, height: p.height, channels: 3 as const };
    const ev = evalItems.find(
      (it) => it.imageIndex === Number.parseInt(q.image, 10) && it.question === q.question,
    );
    if (!ev) throw new Error(`${q.image} "${q.question}" is not in ${values.data}/test.jsonl`);
    const evalRun = await model.run(itemImage(ev), ev.qIds, {
      maxTokens: MAX_ANSWER_TOKENS,
    });
    const pngRun = await model.run(pixels, q.question, { maxTokens: MAX_ANSWER_TOKENS });
    const body = {
      max_tokens: MAX_ANSWER_TOKENS,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: q.question },
            { type: "image_url", image_url: { url: `data:image/png;base64,${png.toString("base64")}` } },
          ],
        },
      ],
    };
    const res = await fetch(`${values.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        ...(values.key ? { Authorization: `Bearer ${values.key}` } : {}),
      },
      body: JSON.stringify(body),
    });
    const api = ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0].message
      .content;
    const s = await streamed(body);
    const ok = api === evalRun.text && s.text === evalRun.text && pngRun.text === evalRun.text;
    if (ok) same++;
    apiTtft.push(s.arrivals[0]);
    workerTtft.push(s.stats.timings.ttft_ms);
    nodeTtft.push(pngRun.stats.timings.ttftMs);
    for (let i = 1; i < s.arrivals.length; i++) gaps.push(s.arrivals[i] - s.arrivals[i - 1]);
    if (s.arrivals.length > 1) workerDecode.push(s.stats.timings.decode_ms_per_token);
    if (pngRun.stats.timings.decodeMsPerToken > 0) nodeDecode.push(pngRun.stats.timings.decodeMsPerToken);
    rows.push(
      `${ok ? "same" : "DIFF"}  ${q.image} ${q.question} -> eval "${evalRun.text}" | api "${api}" | stream "${s.text}" (truth "${q.answer}")`,
    );
  }
  console.log(rows.join("\n"));
  console.log(`\nidentical answers (eval path, PNG path, API, API streamed): ${same}/${lines.length}`);
  console.log(
    `TTFT ms: client ${mean(apiTtft).toFixed(1)} | Worker engine ${mean(workerTtft).toFixed(1)} | Node engine ${mean(nodeTtft).toFixed(1)}`,
  );
  const sorted = [...gaps].sort((a, b) => a - b);
  const pct = (q: number) => (sorted.length ? sorted[Math.floor(q * (sorted.length - 1))] : 0);
  const together = gaps.filter((g) => g === 0).length;
  console.log(
    `ms/token: client inter-arrival mean ${mean(gaps).toFixed(2)} p50 ${pct(0.5).toFixed(2)} p90 ${pct(0.9).toFixed(2)} max ${pct(1).toFixed(1)} | Worker decode ${mean(workerDecode).toFixed(2)} | Node decode ${mean(nodeDecode).toFixed(2)}`,
  );
  console.log(
    `streamed tokens after the first: ${gaps.length}, arriving in the same read as the previous: ${together}`,
  );
}

main().catch((err: Error) => {
  console.error(`smoke: ${err.message}`);
  process.exit(1);
});
