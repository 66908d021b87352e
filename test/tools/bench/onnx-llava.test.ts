// The onnxruntime-web peer's graph (tools/bench/onnx-llava.ts), built from the tiny model's shards, gives
// the logits of the float64 reference (test/wasm/reference.ts) at every prompt position: the peer of
// `npm run bench` computes the same function as the engine, so the time ratio compares like with like.
import * as ort from "onnxruntime-web";
import { describe, expect, it } from "vitest";
import { llavaOnnx } from "../../../tools/bench/onnx-llava";
import { loadModel, MemorySource } from "../../../wasm/index";
import { BUILDS } from "../../helpers/kernels";
import { randomImage, tinyModelFiles } from "../../wasm/helpers/tiny";
import { Reference } from "../../wasm/reference";

/** ORT's fp32 graph against the f64 reference: the engine's own f32 budget (test/wasm/engine.test.ts). */
const LOGIT_BUDGET = 1e-4;

describe("the ONNX graph of the model, built from its shards", () => {
  it("matches the float64 reference's logits on the last prompt row, for q8 and q4 shards", async () => {
    ort.env.wasm.numThreads = 1;
    for (const quant of ["q8", "q4"] as const) {
      const files = tinyModelFiles(quant);
      const ref = new Reference(files);
      const model = await loadModel(new MemorySource(files), { kernels: BUILDS[0].module });
      const ids = model.tokenizer.promptIds("what color is the square ?");
      const image = randomImage(ref.cfg.vision.imageSize, ref.cfg.vision.imageSize);
      const px = ref.pixels(image.data);
      const want = ref.run(ids, ref.image(px).projector_out).logitsLast;
      const session = await ort.InferenceSession.create(llavaOnnx(files, ids), {
        executionProviders: ["wasm"],
      });
      const S = ref.cfg.vision.imageSize;
      const out = await session.run({
        pixel_values: new ort.Tensor("float32", Float32Array.from(px), [1, 3, S, S]),
        input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]),
      });
      const y = Object.values(out)[0].data as Float32Array;
      const V = want.length;
      const last = y.subarray((ids.length - 1) * V, ids.length * V);
      const err = Math.max(...Array.from(last, (v, i) => Math.abs(v - want[i])));
      expect(err, quant).toBeLessThan(LOGIT_BUDGET * Math.max(1, ...Array.from(want, Math.abs)));
      await session.release();
    }
  });

  it("refuses a prompt whose image tokens are not right after <bos>", async () => {
    const files = tinyModelFiles("q8");
    expect(() => llavaOnnx(files, [1, 7, 3, 3])).toThrow(/image tokens right after <bos>/);
  });
});
