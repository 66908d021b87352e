// POST /v1/describe (Workers AI image-to-text shape): the image as a byte array, base64 or a data: URL,
// the answer equal to the engine's; its errors share the chat route's handling.
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_QUESTION } from "../../worker/serve/messages";
import { call, fixturePixels, IMAGES, QUESTION, referenceModel, seedWeights, urlBytes } from "./helpers/api";

beforeAll(() => seedWeights());

describe("POST /v1/describe", () => {
  it("answers for a byte array, base64 and a data: URL exactly as the engine does", async () => {
    const bytes = urlBytes(IMAGES["shapes.jpg"]);
    const ref = await (await referenceModel()).run(fixturePixels("shapes.jpg"), QUESTION, { maxTokens: 8 });
    const b64 = IMAGES["shapes.jpg"].slice(IMAGES["shapes.jpg"].indexOf(",") + 1);
    for (const image of [[...bytes], b64, IMAGES["shapes.jpg"]]) {
      const res = await call("/v1/describe", { image, prompt: QUESTION, max_tokens: 8 });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { description: string; atp: { visual_tokens: { total: number } } };
      expect(body.description).toBe(ref.text);
      expect(body.atp.visual_tokens.total).toBe(16);
    }
  });

  it("asks the caption question without a prompt", async () => {
    const ref = await (
      await referenceModel()
    ).run(fixturePixels("photo.jpg"), DEFAULT_QUESTION, { maxTokens: 4 });
    const res = await call("/v1/describe", { image: [...urlBytes(IMAGES["photo.jpg"])], max_tokens: 4 });
    expect(((await res.json()) as { description: string }).description).toBe(ref.text);
  });

  it("rejects bad input with OpenAI-style errors", async () => {
    const cases: [unknown, number][] = [
      [{ image: [1, 2, 300] }, 400],
      [{ image: [] }, 400],
      [{ prompt: "hi" }, 400],
      [{ image: "!!!" }, 400],
      [{ image: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] }, 415],
    ];
    for (const [body, status] of cases) {
      const res = await call("/v1/describe", body);
      expect(res.status).toBe(status);
      expect(await res.json()).toHaveProperty("error.message");
    }
  });
});
