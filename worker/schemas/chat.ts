// POST /v1/chat/completions request body: the OpenAI shape (the fields this model can honour; unknown
// fields are ignored as OpenAI-compatible servers do) plus the `atp` extension.
import { z } from "zod";
import { MAX_MAX_TOKENS, MAX_PROMPT_CHARS } from "../limits";
import { atpRequest, sampling } from "./atp";

const textPart = z.object({ type: z.literal("text"), text: z.string().max(MAX_PROMPT_CHARS) });
const imagePart = z.object({
  type: z.literal("image_url"),
  image_url: z.union([
    z.object({ url: z.string(), detail: z.enum(["auto", "low", "high"]).optional() }),
    z.string(),
  ]),
});
const part = z.discriminatedUnion("type", [textPart, imagePart]);

const message = z.object({
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: z.union([z.string().max(MAX_PROMPT_CHARS), z.array(part)]).nullable(),
});

export const chatRequest = z.object({
  model: z.string().optional(),
  messages: z.array(message).min(1).max(64),
  max_tokens: z.number().int().min(1).max(MAX_MAX_TOKENS).nullish(),
  max_completion_tokens: z.number().int().min(1).max(MAX_MAX_TOKENS).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  n: z.literal(1).nullish(),
  ...sampling,
  atp: atpRequest,
});

export type ChatRequest = z.infer<typeof chatRequest>;
export type ChatMessage = z.infer<typeof message>;
