// ShapesVQA through the HTTP API as a user sees it: every question of the split, its image as a PNG data
// URL, sent with the official `openai` client to /v1/chat/completions with no `atp` field (the served
// default method and budget), greedy, max_tokens as the eval's (tools/eval/run.ts MAX_ANSWER_TOKENS).
// Scored as `npm run eval` scores (tools/shapesvqa/score.ts). `npm run eval:api` (api-cli.ts) runs it.
import OpenAI from "openai";
import { rgbToPng } from "../shapesvqa/png";
import { accuracyTable, score, type Prediction } from "../shapesvqa/score";
import { itemImage, type EvalItem } from "./data";
import { MAX_ANSWER_TOKENS } from "./run";

/** The `atp` extension fields this tool reads. */
interface AtpStats {
  method: string;
  visual_tokens: { mean_fraction: number; input_fraction: number };
}

/** What the API answered for one question. */
export interface ApiAnswer {
  prediction: string;
  method: string;
  meanFraction: number;
  inputFraction: number;
}

/** The JSON report. */
export interface ApiReport {
  split: string;
  count: number;
  url: string;
  methods: Record<string, number>;
  accuracy: Record<string, number>;
  caption_f1: number | null;
  visual_tokens: { mean_fraction: number; input_fraction: number };
  families: Record<string, { n: number; exact: number; f1?: number }>;
  /** The answer text per question, in the items' order. */
  predictions: string[];
}

/** The chat request for one benchmark question: its text and its image as a PNG data URL. */
export function questionMessages(it: EvalItem): OpenAI.Chat.ChatCompletionMessageParam[] {
  const img = itemImage(it);
  const png = Buffer.from(rgbToPng(img.width, img.height, img.data)).toString("base64");
  return [
    {
      role: "user",
      content: [
        { type: "text", text: it.question },
        { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } },
      ],
    },
  ];
}

/** Asks one question; a non-200 answer throws (the client's APIError names the status and message). */
export async function askApi(client: OpenAI, model: string, it: EvalItem): Promise<ApiAnswer> {
  const res = await client.chat.completions.create({
    model,
    messages: questionMessages(it),
    max_tokens: MAX_ANSWER_TOKENS,
    temperature: 0,
  });
  const atp = (res as unknown as { atp: AtpStats }).atp;
  return {
    prediction: res.choices[0].message.content ?? "",
    method: atp.method,
    meanFraction: atp.visual_tokens.mean_fraction,
    inputFraction: atp.visual_tokens.input_fraction,
  };
}

/** Every item through the API, `concurrency` requests in flight, scored. */
export async function evaluateApi(
  url: string,
  items: EvalItem[],
  opts: { split: string; concurrency: number; apiKey?: string; onProgress?: (done: number) => void },
): Promise<ApiReport> {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: opts.apiKey ?? "local", maxRetries: 5 });
  const model = (await client.models.list()).data[0].id;
  const answers: ApiAnswer[] = new Array<ApiAnswer>(items.length);
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        answers[i] = await askApi(client, model, items[i]);
        opts.onProgress?.(++done);
      }
    }),
  );
  const preds: Prediction[] = items.map((it, i) => ({
    family: it.family,
    answer: it.answer,
    prediction: answers[i].prediction,
  }));
  const report = score(preds);
  const methods: Record<string, number> = {};
  for (const a of answers) methods[a.method] = (methods[a.method] ?? 0) + 1;
  const mean = (f: (a: ApiAnswer) => number) => answers.reduce((s, a) => s + f(a), 0) / answers.length;
  return {
    split: opts.split,
    count: items.length,
    url,
    methods,
    accuracy: accuracyTable(report),
    caption_f1: report.families.caption?.f1 ?? null,
    visual_tokens: {
      mean_fraction: mean((a) => a.meanFraction),
      input_fraction: mean((a) => a.inputFraction),
    },
    families: report.families as ApiReport["families"],
    predictions: answers.map((a) => a.prediction),
  };
}
