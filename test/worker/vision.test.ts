// atp.vision (worker/serve/answer.ts visionFor): a vision reduction asked for in the request runs before
// the method and is reported (the patches the LLM starts from, the encoder's rows); values the model
// cannot take and a method that reads the whole vision output are 400 invalid_atp_options naming the field.
import { beforeAll, describe, expect, it } from "vitest";
import { call, chatBody, IMAGES, seedWeights } from "./helpers/api";

interface Answer {
  atp: {
    vision: unknown;
    vision_rows: { perLayer: number[]; out: number };
    visual_tokens: { per_layer: number[] };
  };
  error?: { code: string; param: string };
}

const ask = async (atp: object) => {
  const res = await call(
    "/v1/chat/completions",
    chatBody(IMAGES["shapes.png"], undefined, { max_tokens: 2, atp }),
  );
  return { status: res.status, body: (await res.json()) as Answer };
};

describe("atp.vision", () => {
  beforeAll(() => seedWeights());

  it("reduces the patches inside the encoder, then the method runs on the rest", async () => {
    const r = await ask({ method: "none", vision: { layer: 0, tokens: 9 } });
    expect(r.status).toBe(200);
    expect(r.body.atp.vision).toEqual({ layer: 0, tokens: 9 });
    expect(r.body.atp.vision_rows).toEqual({ perLayer: [16, 9], out: 9 });
    expect(r.body.atp.visual_tokens.per_layer).toEqual([9, 9, 9]);
    const grid = await ask({
      method: "grid",
      knobs: { layer: 0, tokens: 4 },
      vision: { layer: 0, tokens: 9, merge: 1 },
    });
    expect(grid.status).toBe(200);
    expect(grid.body.atp.visual_tokens.per_layer[0]).toBe(9);
    const plain = await ask({ method: "none" });
    expect(plain.body.atp.vision).toBeNull();
    expect(plain.body.atp.vision_rows).toEqual({ perLayer: [16, 16], out: 16 });
  });

  it("refuses values the model cannot take, naming the knob", async () => {
    const cases: [object, string][] = [
      [{ layer: 1, tokens: 9 }, "atp.vision.layer"], // the tiny model runs 2 encoder layers: the last is pointless
      [{ layer: 0, tokens: 16 }, "atp.vision.tokens"],
      [{ layer: 0, tokens: 9, merge: 3 }, "atp.vision.merge"],
    ];
    for (const [vision, param] of cases) {
      const r = await ask({ method: "none", vision });
      expect(r.status, JSON.stringify(vision)).toBe(400);
      expect(r.body.error).toMatchObject({ code: "invalid_atp_options", param });
    }
    for (const vision of [{ layer: 0 }, { layer: 0, tokens: 9, extra: 1 }, { layer: 0.5, tokens: 9 }, "0,9"])
      expect((await ask({ method: "none", vision })).status).toBe(400);
  });

  it("refuses a method that reads the whole vision output", async () => {
    const r = await ask({ method: "visionzip", vision: { layer: 0, tokens: 9 } });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: "invalid_atp_options", param: "atp.vision" });
  });
});
