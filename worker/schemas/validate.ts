// zod validation of JSON bodies through @hono/zod-validator, answering OpenAI-style 400s that name the
// first offending field (`param`), never zod's raw issue list.
import { zValidator } from "@hono/zod-validator";
import type { z } from "zod";
import { badRequest } from "../errors";

/** Path of an issue as OpenAI writes params: messages[0].content[1].image_url. */
function paramOf(path: readonly PropertyKey[]): string | null {
  let out = "";
  for (const k of path) out += typeof k === "number" ? `[${k}]` : `${out ? "." : ""}${String(k)}`;
  return out || null;
}

/** A validator middleware for the JSON body; invalid bodies throw ApiError 400. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return zValidator("json", schema, (result) => {
    if (result.success) return;
    const issue = result.error.issues[0];
    const param = paramOf(issue.path);
    throw badRequest(param ? `Invalid ${param}: ${issue.message}` : issue.message, "invalid_request", param);
  });
}
