// Body checks before parsing: JSON only (415 otherwise) and at most MAX_BODY_BYTES (413), counted from
// Content-Length or, for chunked bodies, while reading (hono's bodyLimit).
import { createMiddleware } from "hono/factory";
import { bodyLimit } from "hono/body-limit";
import type { Env } from "../env";
import { ApiError } from "../errors";
import { MAX_BODY_BYTES } from "../limits";

/** 415 unless the body is declared as JSON. */
export const requireJson = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const type = (c.req.header("Content-Type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") {
    throw new ApiError(
      415,
      `Content-Type must be application/json, got ${type || "none"}`,
      "invalid_request_error",
      "unsupported_media_type",
    );
  }
  return next();
});

/** 413 past MAX_BODY_BYTES. */
export const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new ApiError(
      413,
      `The request body exceeds ${MAX_BODY_BYTES} bytes`,
      "invalid_request_error",
      "request_too_large",
    );
  },
});
