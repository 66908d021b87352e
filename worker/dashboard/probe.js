// The dashboard's probe: one streamed request from this browser, each token's arrival timed by the
// browser's own clock. On Cloudflare's network the Worker cannot time CPU-bound work (its clock moves only
// at I/O), so this is the one latency figure that is measured end to end wherever the Worker runs
// (network included). The image is drawn here on a canvas (a few shapes, the model's input size) and sent
// as a PNG data: URL; the answer arrives as SSE chunks (OpenAI's stream format).

/** A small scene of coloured shapes as a PNG data: URL. */
export function probeImage(size = 96) {
  const c = document.createElement("canvas");
  c.width = c.height = size;
  const g = c.getContext("2d");
  g.fillStyle = "#ffffff";
  g.fillRect(0, 0, size, size);
  g.fillStyle = "#d62728";
  g.fillRect(size * 0.1, size * 0.1, size * 0.3, size * 0.3);
  g.fillStyle = "#1f77b4";
  g.beginPath();
  g.arc(size * 0.7, size * 0.65, size * 0.17, 0, 2 * Math.PI);
  g.fill();
  return c.toDataURL("image/png");
}

/**
 * Streams one chat completion and times it: `ttft_ms` from sending to the first content chunk, `itl_ms`
 * the gaps between later ones, `total_ms` to the end of the stream. Returns the answer and the server's
 * `atp` object of the last chunk (its own timings and the cost model's estimate) beside them.
 */
export async function runProbe(headers, { question = "what is in the image ?", maxTokens = 16 } = {}) {
  const body = {
    model: "atp-tiny",
    stream: true,
    max_tokens: maxTokens,
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: question },
          { type: "image_url", image_url: { url: probeImage() } },
        ],
      },
    ],
  };
  const t0 = performance.now();
  const res = await fetch("/v1/chat/completions", {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`probe: HTTP ${res.status}`);
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  const arrivals = [];
  let text = "";
  let atp = null;
  let buf = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const at = performance.now();
    buf += dec.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const event = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      if (!event.startsWith("data: ") || event === "data: [DONE]") continue;
      const msg = JSON.parse(event.slice(6));
      const piece = msg.choices?.[0]?.delta?.content;
      if (piece) {
        arrivals.push(at);
        text += piece;
      }
      if (msg.atp) atp = msg.atp;
    }
  }
  const end = performance.now();
  return {
    text,
    tokens: arrivals.length,
    ttft_ms: arrivals.length ? arrivals[0] - t0 : null,
    itl_ms: arrivals.slice(1).map((t, i) => t - arrivals[i]),
    total_ms: end - t0,
    server: atp,
  };
}
