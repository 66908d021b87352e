// GET /v1/models and GET /v1/models/:id: the one model this Worker serves (OpenAI's list shape), with the
// pruning methods it accepts. Answers without loading the weights.
import { Hono } from "hono";
import { METHODS } from "../../wasm/index";
import type { AppEnv } from "../env";
import { checkModelId } from "../serve/request";

export const models = new Hono<AppEnv>();

const card = (id: string) => ({
  id,
  object: "model",
  created: 0,
  owned_by: "atp-edge",
  atp: { methods: [...METHODS] },
});

models.get("/v1/models", (c) => c.json({ object: "list", data: [card(c.env.MODEL_ID)] }));

models.get("/v1/models/:id", (c) => {
  checkModelId(c.req.param("id"), c.env.MODEL_ID);
  return c.json(card(c.env.MODEL_ID));
});
