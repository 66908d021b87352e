// POST /v1/chat/completions with stream: true. The response (200, text/event-stream) leaves at once; the
// answer runs behind it, one chunk per token as it is produced. If the client leaves, the cancel signal
// stops the engine before its next step. An error after the headers went out is sent as an
// `{error}` event, then the stream ends.
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { ApiError, errorBody } from "../errors";
import type { AtpRequest } from "../schemas/atp";
import type { Outcome } from "./answer";
import { chunk, finalChunk, usageChunk, type CompletionMeta } from "./openai";
import { detach, logOutcome } from "./request";
import { SseStream } from "./sse";

/** Options of one streamed completion. */
export interface StreamOptions {
  meta: CompletionMeta;
  atp: AtpRequest;
  includeUsage: boolean;
  cancel: AbortController;
}

async function pump(
  sse: SseStream,
  answer: AsyncGenerator<{ text: string }, Outcome>,
  o: StreamOptions,
): Promise<void> {
  try {
    await sse.send(chunk(o.meta, { role: "assistant", content: "" }));
    let r = await answer.next();
    while (!r.done) {
      await sse.send(chunk(o.meta, { content: r.value.text })); // after a failed send, only drains
      r = await answer.next();
    }
    const outcome = r.value;
    logOutcome("chat.stream", outcome);
    await sse.send(finalChunk(o.meta, o.atp, outcome));
    if (o.includeUsage) await sse.send(usageChunk(o.meta, outcome));
    await sse.send("[DONE]");
  } catch (err) {
    if (!(err instanceof ApiError)) console.error(err);
    await sse.send(
      err instanceof ApiError ? err.body() : errorBody("Internal error", "server_error", "internal_error"),
    );
  } finally {
    await sse.close();
  }
}

/** The SSE response of `answer`. */
export function streamCompletion(
  c: Context<AppEnv>,
  answer: AsyncGenerator<{ text: string }, Outcome>,
  options: StreamOptions,
): Response {
  const sse = new SseStream(() => options.cancel.abort());
  void detach(c, pump(sse, answer, options));
  return sse.response;
}
