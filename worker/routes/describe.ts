// POST /v1/describe: the Workers AI image-to-text shape ({image, prompt, max_tokens} -> {description}),
// the image as a byte array or base64 (a data: URL works too), plus the `atp` stats of the answer.
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { base64Bytes, dataUrlBytes } from "../image/source";
import { limitBody, requireJson } from "../middleware/body";
import { describeRequest } from "../schemas/describe";
import { jsonBody } from "../schemas/validate";
import { DEFAULT_QUESTION } from "../serve/messages";
import { beginAnswer, drain, logOutcome } from "../serve/request";
import { atpStats } from "../serve/stats";

export const describe = new Hono<AppEnv>();

describe.post("/v1/describe", requireJson, limitBody, jsonBody(describeRequest), async (c) => {
  const body = c.req.valid("json");
  const image = body.image;
  const imageBytes =
    typeof image !== "string"
      ? Uint8Array.from(image)
      : image.startsWith("data:")
        ? dataUrlBytes(image, "image")
        : base64Bytes(image, "image");
  const { answer } = await beginAnswer(c, {
    imageBytes,
    imageParam: "image",
    question: body.prompt?.trim() || DEFAULT_QUESTION,
    maxTokens: body.max_tokens,
    sampling: { temperature: body.temperature, topP: body.top_p, seed: body.seed },
    atp: body.atp,
  });
  const outcome = await drain(c, answer);
  logOutcome("describe", outcome);
  return c.json({ description: outcome.done.text, atp: atpStats(body.atp, outcome) });
});
