import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildSplit, type QuestionRecord } from "../../../tools/shapesvqa/build";
import { generateSplit, splitSpec } from "../../../tools/shapesvqa/dataset";
import { IMAGE_BYTES, renderScene } from "../../../tools/shapesvqa/render";
import { Encoder } from "../../../tools/shapesvqa/tokenizer";
import { EOS_ID } from "../../../tools/shapesvqa/vocab";

const dir = mkdtempSync(join(tmpdir(), "shapesvqa-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("buildSplit", () => {
  it("writes images.u8 + jsonl + meta.json in the data contract's format", () => {
    const spec = splitSpec("train", 5, 1100); // > 256 images: crosses a write chunk
    const prefix = join(dir, "sub", "train-5");
    const meta = buildSplit(spec, prefix);
    const images = readFileSync(`${prefix}.images.u8`);
    const lines = readFileSync(`${prefix}.jsonl`, "utf8").trimEnd().split("\n");
    const recs = lines.map((l) => JSON.parse(l) as QuestionRecord);
    expect(statSync(`${prefix}.images.u8`).size).toBe(meta.num_images * IMAGE_BYTES);
    expect(recs).toHaveLength(1100);
    expect(meta.num_questions).toBe(1100);
    expect(JSON.parse(readFileSync(`${prefix}.meta.json`, "utf8"))).toEqual(meta);
    expect(Object.keys(recs[0])).toEqual([
      "image",
      "family",
      "question",
      "answer",
      "q_ids",
      "a_ids",
      "n_objects",
    ]);

    const gen = [...generateSplit(spec)];
    expect(gen.length).toBe(meta.num_images);
    const enc = new Encoder();
    let k = 0;
    for (const img of gen) {
      expect(images.subarray(img.index * IMAGE_BYTES, (img.index + 1) * IMAGE_BYTES)).toEqual(
        Buffer.from(renderScene(img.scene)),
      );
      for (const qa of img.qas) {
        const r = recs[k++];
        expect(r.image).toBe(img.index);
        expect([r.family, r.question, r.answer]).toEqual([qa.family, qa.question, qa.answer]);
        expect(r.q_ids).toEqual(enc.encode(qa.question));
        expect(r.a_ids).toEqual([...enc.encode(qa.answer), EOS_ID]);
        expect(r.n_objects).toBe(img.scene.objects.length);
      }
    }
  });
});
