// POST /v1/describe request body: the Workers AI image-to-text shape ({image, prompt, max_tokens}), the
// image as a byte array (what `[...new Uint8Array(buf)]` gives) or a base64 string / data: URL, plus the
// `atp` extension.
import { z } from "zod";
import { MAX_BODY_BYTES, MAX_MAX_TOKENS, MAX_PROMPT_CHARS } from "../limits";
import { atpRequest, sampling } from "./atp";

export const describeRequest = z.object({
  image: z.union([z.array(z.number().int().min(0).max(255)).min(1).max(MAX_BODY_BYTES), z.string().min(1)]),
  prompt: z.string().max(MAX_PROMPT_CHARS).optional(),
  max_tokens: z.number().int().min(1).max(MAX_MAX_TOKENS).optional(),
  ...sampling,
  atp: atpRequest,
});

export type DescribeRequest = z.infer<typeof describeRequest>;
