// Property-based fuzzing (fast-check) of every route in workerd: JSON bodies of the two generation routes
// (arbitrary JSON, and valid bodies with fields replaced by arbitrary values), raw non-JSON bodies, query
// strings and path parameters of the GET routes, and image bytes (PNG and JPEG fixtures with bits flipped,
// bytes overwritten, truncated, bytes inserted, huge declared sizes in IHDR and SOF). The property: never
// a 5xx, every 4xx an OpenAI-style error with a message, and the isolate still answering /health after.
// `npm test` runs FUZZ_RUNS_DEFAULT cases per property from a fixed seed; `npm run fuzz` runs FUZZ_RUNS
// per property (>= 10,000 cases in all) from a seed it prints.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { METHODS } from "../../wasm/index";
import { call, chatBody, IMAGES, QUESTION, seedWeights, urlBytes } from "./helpers/api";

const FUZZ_RUNS_DEFAULT = 40;
const fuzzEnv = env as unknown as { FUZZ_RUNS?: string; FUZZ_SEED?: string };
const RUNS = Number(fuzzEnv.FUZZ_RUNS) || FUZZ_RUNS_DEFAULT;
const SEED = fuzzEnv.FUZZ_SEED ? Number(fuzzEnv.FUZZ_SEED) : 20261202;
const OPTIONS = { numRuns: RUNS, seed: SEED, endOnFailure: true };

/** Statuses seen per property (printed, so a run shows how many cases got past validation). */
const seen: Record<string, Record<number, number>> = {};
let current = "";
function tally(status: number): void {
  const t = (seen[current] ??= {});
  t[status] = (t[status] ?? 0) + 1;
}

/** The response must be a success or a client error with an OpenAI error body. */
async function checkReply(res: Response, what: string): Promise<void> {
  tally(res.status);
  const text = await res.text(); // a stream is read to its end
  expect(res.status, `${what}: ${text.slice(0, 300)}`).toBeLessThan(500);
  if (res.status >= 400) {
    const body = JSON.parse(text) as { error?: { message?: unknown; type?: unknown } };
    expect(typeof body.error?.message, what).toBe("string");
    expect((body.error!.message as string).length, what).toBeGreaterThan(0);
    expect(typeof body.error?.type, what).toBe("string");
  }
}

const PNG = urlBytes(IMAGES["shapes.png"]);
const JPEG = urlBytes(IMAGES["photo.jpg"]);
const b64 = (bytes: Uint8Array) => {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
};

/** Arbitrary values where the schema expects something specific. */
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(-1, 0, 1e308, -1e308, 2 ** 53, 1.5, "", "0", "NaN", null, [], {}),
  fc.string({ unit: "binary", maxLength: 64 }),
);
const hostileString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.constantFrom(
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE requests; --",
    "\u0000\u202e\ud800",
    "x".repeat(5000),
  ),
);

const imageUrl = fc.oneof(
  fc.constant(`data:image/png;base64,${b64(PNG)}`),
  fc.constant(`data:image/jpeg;base64,${b64(JPEG)}`),
  hostileString,
  fc.string({ maxLength: 40 }).map((s) => `data:image/png;base64,${s}`),
  fc.constantFrom("https://example.com/a.png", "data:,", "data:image/gif;base64,R0lGODlh"),
);
const part = fc.oneof(
  fc.record({ type: fc.constant("text"), text: fc.oneof(fc.constant(QUESTION), hostileString) }),
  fc.record({
    type: fc.constant("image_url"),
    image_url: fc.oneof(fc.record({ url: imageUrl }), imageUrl, anyValue),
  }),
  fc.record({ type: fc.oneof(fc.string(), anyValue) }),
);
const message = fc.record(
  {
    role: fc.oneof(fc.constantFrom("user", "system", "assistant", "developer"), hostileString),
    content: fc.oneof(fc.array(part, { maxLength: 4 }), hostileString, anyValue),
  },
  { requiredKeys: [] },
);
const atp = fc.oneof(
  fc.record(
    {
      method: fc.oneof(fc.constantFrom(...METHODS), hostileString),
      budget: fc.oneof(fc.double(), anyValue),
      knobs: fc.oneof(fc.dictionary(fc.string({ maxLength: 40 }), anyValue, { maxKeys: 4 }), anyValue),
      deadline_ms: fc.oneof(fc.integer({ min: -10, max: 200_000 }), anyValue),
    },
    { requiredKeys: [] },
  ),
  anyValue,
);
const small = fc.oneof(fc.integer({ min: -2, max: 8 }), anyValue);

/** Well-formed bodies with values drawn over (and just past) their ranges: these reach the engine. */
const wellFormedChat = fc
  .record({
    image: fc.constantFrom("shapes.png", "shapes.jpg", "photo.jpg"),
    question: fc.oneof(fc.constant(QUESTION), fc.string({ maxLength: 80 }), hostileString),
    max_tokens: fc.integer({ min: 1, max: 8 }),
    stream: fc.boolean(),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    seed: fc.integer(),
    method: fc.constantFrom(...METHODS),
    budget: fc.option(fc.double({ min: -120, max: 120, noNaN: true }), { freq: 2 }),
    knobs: fc.option(
      fc.dictionary(
        fc.constantFrom(
          "k",
          "ratio",
          "layers",
          "lambda",
          "counts",
          "seed",
          "layer",
          "tokens",
          "keep",
          "budget",
          "x",
        ),
        fc.oneof(
          fc.double({ min: -2, max: 300, noNaN: true }),
          fc.array(fc.integer({ min: -3, max: 200 }), { maxLength: 10 }),
        ),
        { maxKeys: 3 },
      ),
      { freq: 2 },
    ),
    deadline_ms: fc.integer({ min: 0, max: 30_000 }),
  })
  .map((v) =>
    chatBody(IMAGES[v.image], v.question, {
      max_tokens: v.max_tokens,
      stream: v.stream,
      temperature: v.temperature,
      seed: v.seed,
      atp: {
        method: v.method,
        deadline_ms: v.deadline_ms,
        ...(v.budget === null ? {} : { budget: v.budget }),
        ...(v.knobs === null ? {} : { knobs: v.knobs }),
      },
    }),
  );

const chatBodies = fc.oneof(
  { arbitrary: wellFormedChat, weight: 4 },
  fc.jsonValue({ maxDepth: 4 }),
  fc.record(
    {
      model: fc.oneof(fc.constant("atp-tiny"), hostileString, anyValue),
      messages: fc.oneof(fc.array(message, { minLength: 1, maxLength: 3 }), anyValue),
      max_tokens: small,
      max_completion_tokens: small,
      stream: fc.oneof(fc.boolean(), anyValue),
      stream_options: fc.oneof(fc.record({ include_usage: fc.boolean() }), anyValue),
      n: fc.oneof(fc.constant(1), anyValue),
      temperature: fc.oneof(fc.double({ min: -1, max: 3 }), anyValue),
      top_p: fc.oneof(fc.double({ min: -1, max: 2 }), anyValue),
      seed: fc.oneof(fc.integer(), anyValue),
      atp,
    },
    { requiredKeys: [] },
  ),
  // a valid body with one field replaced
  fc
    .tuple(fc.constantFrom("model", "messages", "max_tokens", "stream", "atp", "temperature"), anyValue)
    .map(([k, v]) => ({
      ...chatBody(IMAGES["shapes.png"], QUESTION, { max_tokens: 3 }),
      [k]: v,
    })),
);

const describeBodies = fc.oneof(
  {
    arbitrary: fc.record({
      image: fc.oneof(fc.constant(b64(PNG)), fc.constant(Array.from(JPEG))),
      prompt: fc.oneof(fc.constant(QUESTION), hostileString),
      max_tokens: fc.integer({ min: 1, max: 8 }),
      atp: fc.record({
        method: fc.constantFrom(...METHODS),
        deadline_ms: fc.integer({ min: 0, max: 30_000 }),
      }),
    }),
    weight: 2,
  },
  fc.jsonValue({ maxDepth: 3 }),
  fc.record(
    {
      image: fc.oneof(
        fc.constant(b64(PNG)),
        fc.constant(Array.from(JPEG)),
        fc.array(fc.integer({ min: -5, max: 300 }), { maxLength: 64 }),
        hostileString,
        anyValue,
      ),
      prompt: fc.oneof(fc.constant(QUESTION), hostileString, anyValue),
      max_tokens: small,
      atp,
      temperature: anyValue,
    },
    { requiredKeys: [] },
  ),
);

/** Image bytes with one of the corruptions a hostile or broken client sends. */
const u32be = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer).setUint32(at, v >>> 0);
const corruptImage = fc
  .tuple(
    fc.constantFrom("png", "jpeg"),
    fc.constantFrom("flip", "set", "truncate", "insert", "huge", "chunk-length"),
    fc.nat(),
    fc.integer({ min: 0, max: 255 }),
    fc.nat({ max: 0xffffffff }),
    fc.uint8Array({ minLength: 1, maxLength: 64 }),
  )
  .map(([kind, how, at, byte, big, extra]) => {
    const src = kind === "png" ? PNG : JPEG;
    let b = new Uint8Array(src);
    const i = at % b.length;
    if (how === "flip") b[i] ^= 1 << (byte % 8);
    else if (how === "set") b[i] = byte;
    else if (how === "truncate") b = b.slice(0, i);
    else if (how === "insert") b = new Uint8Array([...b.subarray(0, i), ...extra, ...b.subarray(i)]);
    else if (how === "huge") {
      if (kind === "png") {
        u32be(b, 16, big); // IHDR width
        u32be(b, 20, big ^ (byte << 8)); // IHDR height
      } else {
        const sof = b.findIndex((x, j) => x === 0xff && (b[j + 1] === 0xc0 || b[j + 1] === 0xc2));
        if (sof > 0 && sof + 9 <= b.length) new DataView(b.buffer).setUint32(sof + 5, big); // height and width (16 bits each)
      }
    } else if (kind === "png") {
      u32be(b, 8 + (at % 3) * 12, big); // a chunk's declared length
    } else {
      const seg = b.findIndex((x, j) => j > i && x === 0xff && b[j + 1] >= 0xc0 && b[j + 1] !== 0xff);
      if (seg > 0 && seg + 4 <= b.length) new DataView(b.buffer).setUint16(seg + 2, big & 0xffff); // a segment's declared length
    }
    return { kind, how, bytes: b };
  });

/** A path segment: percent-encoded when it can be, else with raw malformed escapes (%FF, a lone %). */
function pathSegment(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return s.replace(/[^\x21-\x7e]/g, "%FF").replace(/\//g, "%") || "%E0%A4%A";
  }
}

beforeAll(() => seedWeights());
beforeEach((ctx) => void (current = ctx.task.name));
afterAll(() => console.log(`fuzz statuses (seed ${SEED}, ${RUNS} per property): ${JSON.stringify(seen)}`));

describe(`fuzzing every route (${RUNS} cases per property, seed ${SEED})`, () => {
  it("POST /v1/chat/completions with arbitrary and mutated JSON bodies", async () => {
    await fc.assert(
      fc.asyncProperty(chatBodies, async (body) =>
        checkReply(await call("/v1/chat/completions", body), "chat"),
      ),
      OPTIONS,
    );
  }, 600_000);

  it("POST /v1/describe with arbitrary and mutated JSON bodies", async () => {
    await fc.assert(
      fc.asyncProperty(describeBodies, async (body) =>
        checkReply(await call("/v1/describe", body), "describe"),
      ),
      OPTIONS,
    );
  }, 600_000);

  it("raw bodies that are not JSON, with and without a JSON content type", async () => {
    const routes = ["/v1/chat/completions", "/v1/describe"];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.oneof(fc.string({ unit: "binary", maxLength: 300 }), fc.uint8Array({ maxLength: 300 })),
        fc.constantFrom("application/json", "text/plain", "application/json; charset=utf-16", ""),
        async (route, body, type) => {
          const res = await call(route, typeof body === "string" ? body : new TextDecoder().decode(body), {
            "Content-Type": type,
          });
          await checkReply(res, route);
        },
      ),
      OPTIONS,
    );
  }, 600_000);

  it("GET routes with arbitrary query strings and path parameters", async () => {
    const value = fc.oneof(
      hostileString,
      fc.integer().map(String),
      fc.constantFrom("60", "all", "atp,none", "-1"),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/v1/metrics", "/v1/metrics/requests/", "/v1/models/", "/dashboard/", "/health"),
        fc.dictionary(
          fc.constantFrom("window", "from", "to", "method", "limit", "buckets", "key", "x"),
          value,
          {
            maxKeys: 4,
          },
        ),
        value,
        async (route, query, param) => {
          const path = route.endsWith("/") ? route + pathSegment(param) : route;
          const qs = new URLSearchParams(query).toString();
          await checkReply(await call(qs ? `${path}?${qs}` : path), path);
        },
      ),
      OPTIONS,
    );
  }, 600_000);

  it("image bytes: flipped, overwritten, truncated, inserted, huge declared sizes, bad chunk lengths", async () => {
    await fc.assert(
      fc.asyncProperty(corruptImage, async ({ kind, how, bytes }) => {
        const url = `data:image/${kind};base64,${b64(bytes)}`;
        const res = await call("/v1/chat/completions", chatBody(url, QUESTION, { max_tokens: 2 }));
        await checkReply(res, `${kind} ${how}`);
        expect([200, 400, 413, 415, 422], `${kind} ${how}`).toContain(res.status);
      }),
      OPTIONS,
    );
    const health = await call("/health");
    expect(health.status).toBe(200); // the isolate survived every case
  }, 600_000);
});
