// Bearer-key auth for the API routes: when the API_KEY secret is set, requests need
// `Authorization: Bearer <API_KEY>`. The comparison is constant-time over SHA-256 digests of both keys
// (equal lengths, as crypto.subtle.timingSafeEqual requires), so neither the key nor its length leaks.
import { createMiddleware } from "hono/factory";
import type { Env } from "../env";
import { ApiError } from "../errors";

const digest = async (s: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));

/** Constant-time string equality. */
export async function sameKey(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([digest(a), digest(b)]);
  return crypto.subtle.timingSafeEqual(da, db);
}

/** Query parameters that carry credentials by habit; refused so that no key sits in a URL. */
const KEY_PARAMS = ["key", "api_key", "apikey", "access_token", "token", "authorization"];

/**
 * Rejects requests without the right bearer key (401) when API_KEY is set; open otherwise. A key in the
 * query string is never read: such a request answers 400 (a URL lands in logs, history and Referer
 * headers, so the key should be revoked), whether or not a key is set.
 */
export const requireApiKey = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const inUrl = KEY_PARAMS.find((p) => new URL(c.req.url).searchParams.has(p));
  if (inUrl) {
    throw new ApiError(
      400,
      `API keys are not accepted in the URL (query parameter '${inUrl}'): send Authorization: Bearer <key>`,
      "invalid_request_error",
      "key_in_url",
      inUrl,
    );
  }
  const key = c.env.API_KEY;
  if (!key) return next();
  const header = c.req.header("Authorization") ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!match || !(await sameKey(match[1], key))) {
    c.header("WWW-Authenticate", 'Bearer realm="atp-edge"');
    throw new ApiError(
      401,
      match ? "Incorrect API key provided" : "Missing API key: send Authorization: Bearer <key>",
      "authentication_error",
      "invalid_api_key",
    );
  }
  return next();
});
