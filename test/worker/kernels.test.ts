// worker/kernels.ts: the deployment's kernel build (KERNELS). The plain-SIMD build answers exactly as the
// relaxed one through the API (the two compute the same bits), /health names the build in use, and an
// unknown name is refused with the choices.
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { createPolicy } from "../../wasm/index";
import { kernelBuild, useKernelBuild } from "../../worker/kernels";
import { modelStore } from "../../worker/store";
import { call, chatBody, fixturePixels, IMAGES, QUESTION, seedWeights } from "./helpers/api";

afterAll(async () => {
  useKernelBuild(undefined);
  await seedWeights(); // forgets the model loaded on the other build
});

const answer = async () => {
  const res = await call(
    "/v1/chat/completions",
    chatBody(IMAGES["shapes.png"], undefined, { max_tokens: 12, atp: { method: "fastv" } }),
  );
  expect(res.status).toBe(200);
  const body = (await res.json()) as {
    choices: { message: { content: string } }[];
    atp: { visual_tokens: { per_layer: number[] } };
  };
  return { text: body.choices[0].message.content, perLayer: body.atp.visual_tokens.per_layer };
};

describe("KERNELS", () => {
  it("runs the plain-SIMD build bit for bit like the relaxed one", async () => {
    await seedWeights();
    expect(kernelBuild()).toBe("relaxed");
    const relaxed = await answer();
    // the middleware sets the build from the binding (empty here) on every request: set it as KERNELS =
    // "simd" would, and load the model the way a request does
    useKernelBuild("simd");
    modelStore.reset();
    const m = await modelStore.get(env.WEIGHTS);
    expect(Object.values(m.kernels).some((v) => v.endsWith("__simd"))).toBe(true);
    expect(Object.values(m.kernels).some((v) => v.endsWith("__relaxed"))).toBe(false);
    const simd = await m.run(fixturePixels("shapes.png"), QUESTION, {
      maxTokens: 12,
      policy: createPolicy("fastv", {}),
    });
    expect(simd.text).toBe(relaxed.text);
    expect(simd.stats.visualTokens.perLayer).toEqual(relaxed.perLayer);
  });

  it("refuses an unknown build, naming the choices", () => {
    expect(() => useKernelBuild("avx")).toThrow(/relaxed, simd/);
    useKernelBuild("");
    expect(kernelBuild()).toBe("relaxed");
  });
});
