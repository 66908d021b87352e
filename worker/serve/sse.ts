// A Server-Sent Events response: `data: <json>\n\n` per message and `data: [DONE]` at the end. Each
// write waits until the runtime takes the chunk; when the client has gone, the write rejects
// (docs/platform.md) and `onGone` fires once so the generation can stop.
export class SseStream {
  readonly response: Response;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly encoder = new TextEncoder();
  private gone = false;

  constructor(private readonly onGone: () => void) {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    this.writer = writable.getWriter();
    this.response = new Response(readable, {
      headers: {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
      },
    });
  }

  /** Sends one event (an object as JSON, or the raw `[DONE]` marker). False once the client is gone. */
  async send(data: object | "[DONE]"): Promise<boolean> {
    if (this.gone) return false;
    const text = typeof data === "string" ? data : JSON.stringify(data);
    try {
      await this.writer.write(this.encoder.encode(`data: ${text}\n\n`));
      return true;
    } catch {
      this.gone = true;
      this.onGone();
      return false;
    }
  }

  /** Ends the stream (quietly if the client already left). */
  async close(): Promise<void> {
    try {
      await this.writer.close();
    } catch {
      // the client went away first
    }
  }
}
