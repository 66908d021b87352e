// OpenAI-style errors: the JSON body {error: {message, type, code, param}} and ApiError, the one exception
// routes and helpers throw for a client-visible failure. worker/index.ts turns it into the response;
// anything else is a bug and answers 500 without details.
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** OpenAI error types used here. */
export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "not_found_error"
  | "server_error"
  | "service_unavailable";

/** The JSON body of an API error. */
export function errorBody(
  message: string,
  type: string,
  code: string | null = null,
  param: string | null = null,
) {
  return { error: { message, type, code, param } };
}

/** A failure the client should see, with its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly type: ErrorType,
    readonly code: string | null = null,
    readonly param: string | null = null,
    /**
     * When the client may expect capacity (503, 429), ms: sent as Retry-After (whole seconds, at least 1)
     * and retry-after-ms (the header OpenAI's clients read first).
     */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  body() {
    return errorBody(this.message, this.type, this.code, this.param);
  }
}

/** 400 invalid_request_error. */
export const badRequest = (message: string, code: string, param: string | null = null) =>
  new ApiError(400, message, "invalid_request_error", code, param);
