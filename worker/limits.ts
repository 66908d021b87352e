// Request limits of the API, in one place. Each says what it protects; the tests drive every one.

/**
 * Largest request body. A 6 MB image as base64 is 8 MB of JSON; the model sees 96 x 96 pixels, so
 * nothing larger is useful, and a parsed body lives in the isolate's 128 MB beside the model.
 */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/**
 * Largest decoded image, in pixels, read from the header before decoding (decompression bombs):
 * 4 Mpx as RGBA is 16 MB of the isolate's 128 MB (the model itself takes ~20 MB).
 */
export const MAX_IMAGE_PIXELS = 4 * 1024 * 1024;

/** Longest image side: the engine's resampler keeps a few f64 rows per output pixel. */
export const MAX_IMAGE_SIDE = 8192;

/** Longest question text, in characters (bounds tokenizer work before the context check). */
export const MAX_PROMPT_CHARS = 4096;

/** Largest `max_tokens` accepted; the model's context length clamps it further. */
export const MAX_MAX_TOKENS = 1024;

/**
 * Default generation deadline: below wrangler.toml's cpu_ms (120 s) with margin for image decoding and
 * the response, so a request ends with `finish_reason: "length"` instead of being killed.
 */
export const DEFAULT_DEADLINE_MS = 60_000;

/** Largest deadline a request may ask for (still under cpu_ms = 120 000). */
export const MAX_DEADLINE_MS = 100_000;

/**
 * Requests waiting for the model at once (one generates at a time per isolate). Beyond this a request is
 * turned away with 503 at once; requests that could not finish before their deadline are turned away
 * sooner (worker/serve/answer.ts).
 */
export const MAX_QUEUED_REQUESTS = 32;

/**
 * Decoded image bytes the queued requests may keep at once (each waits with its pixels): two 4 Mpx RGBA
 * images, or hundreds of small ones, beside the model in the isolate's 128 MB.
 */
export const MAX_QUEUED_IMAGE_BYTES = 32 * 1024 * 1024;

/**
 * Longest wait for one R2 object while loading the weights: a stalled read fails the load (503 with
 * Retry-After for every waiting request) instead of holding them all until the CPU or wall limit.
 */
export const WEIGHTS_READ_TIMEOUT_MS = 20_000;

/** How often a warm isolate looks at the manifest's etag to pick up newly uploaded weights. */
export const MANIFEST_CHECK_MS = 30_000;

/** Longest wait for the metrics Durable Object (a write after the response, or a /v1/metrics read). */
export const METRICS_TIMEOUT_MS = 5_000;
