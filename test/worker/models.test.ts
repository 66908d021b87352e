// GET /v1/models and /v1/models/:id: the served model in OpenAI's list shape, with the pruning methods
// the engine accepts (wasm/pruning METHODS), answered without loading weights.
import { describe, expect, it } from "vitest";
import { METHODS } from "../../wasm/index";
import { call } from "./helpers/api";

describe("GET /v1/models", () => {
  it("lists the served model and its pruning methods", async () => {
    const res = await call("/v1/models");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      object: "list",
      data: [
        { id: "atp-tiny", object: "model", created: 0, owned_by: "atp-edge", atp: { methods: [...METHODS] } },
      ],
    });
  });

  it("retrieves it by id, 404 for others", async () => {
    expect((await call("/v1/models/atp-tiny")).status).toBe(200);
    const res = await call("/v1/models/gpt-4o");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "model_not_found" } });
  });
});
