// OpenAI chat-completion objects: the whole completion, and the stream's chunks (a role chunk, one
// content chunk per token, a final chunk with finish_reason and the `atp` stats, an optional usage chunk).
import type { AtpRequest } from "../schemas/atp";
import type { Outcome } from "./answer";
import { atpStats, usage } from "./stats";

/** Identity of one completion, shared by all its chunks. */
export interface CompletionMeta {
  id: string;
  created: number;
  model: string;
}

/** A fresh completion id and timestamp. */
export function completionMeta(model: string): CompletionMeta {
  return {
    id: `chatcmpl-${crypto.randomUUID().replace(/-/g, "")}`,
    created: Math.floor(Date.now() / 1000),
    model,
  };
}

/** OpenAI finish_reason: the deadline, the context and max_tokens all end with "length". */
const finishReason = (o: Outcome) => (o.done.stats.finishReason === "stop" ? "stop" : "length");

/** The non-streaming response body. */
export function completion(meta: CompletionMeta, atp: AtpRequest, o: Outcome) {
  return {
    ...meta,
    object: "chat.completion",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: o.done.text, refusal: null },
        logprobs: null,
        finish_reason: finishReason(o),
      },
    ],
    usage: usage(o),
    atp: atpStats(atp, o),
  };
}

type Delta = { role?: "assistant"; content?: string };

/** A streamed chunk carrying `delta`. */
export function chunk(meta: CompletionMeta, delta: Delta, finish: "stop" | "length" | null = null) {
  return {
    ...meta,
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
}

/** The last content-less chunk: finish_reason and the `atp` stats. */
export function finalChunk(meta: CompletionMeta, atp: AtpRequest, o: Outcome) {
  return { ...chunk(meta, {}, finishReason(o)), atp: atpStats(atp, o) };
}

/** The usage chunk sent when stream_options.include_usage is set (choices empty, as OpenAI does). */
export function usageChunk(meta: CompletionMeta, o: Outcome) {
  return { ...meta, object: "chat.completion.chunk", choices: [], usage: usage(o) };
}
