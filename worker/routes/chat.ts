// POST /v1/chat/completions: OpenAI-compatible chat completions over one image and one question, with
// the `atp` extension (pruning method, budget, deadline in; visual tokens per layer and timings out).
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { dataUrlBytes } from "../image/source";
import { limitBody, requireJson } from "../middleware/body";
import { chatRequest } from "../schemas/chat";
import { jsonBody } from "../schemas/validate";
import { readMessages } from "../serve/messages";
import { completion, completionMeta } from "../serve/openai";
import { beginAnswer, checkModelId, drain, logOutcome } from "../serve/request";
import { streamCompletion } from "../serve/stream";

export const chat = new Hono<AppEnv>();

chat.post("/v1/chat/completions", requireJson, limitBody, jsonBody(chatRequest), async (c) => {
  const body = c.req.valid("json");
  checkModelId(body.model, c.env.MODEL_ID);
  const conv = readMessages(body.messages);
  const { answer, cancel } = await beginAnswer(c, {
    imageBytes: dataUrlBytes(conv.imageUrl, conv.imageParam),
    imageParam: conv.imageParam,
    question: conv.question,
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    sampling: { temperature: body.temperature, topP: body.top_p, seed: body.seed },
    atp: body.atp,
  });
  const meta = completionMeta(c.env.MODEL_ID);
  if (body.stream) {
    const includeUsage = body.stream_options?.include_usage ?? false;
    return streamCompletion(c, answer, { meta, atp: body.atp, includeUsage, cancel });
  }
  const outcome = await drain(c, answer);
  logOutcome("chat", outcome);
  return c.json(completion(meta, body.atp, outcome));
});
