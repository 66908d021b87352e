import { Tokenizer } from "@huggingface/tokenizers";
import { describe, expect, it } from "vitest";
import { generateSplit, splitSpec } from "../../../tools/shapesvqa/dataset";
import { Encoder, tokenizerConfigJson, tokenizerJson } from "../../../tools/shapesvqa/tokenizer";
import { EOS_ID, SPECIAL_TOKENS, UNK_ID, VOCAB, WORDS } from "../../../tools/shapesvqa/vocab";

// A tokenizer loaded from the serialised file contents, as the Worker and tools will load data/tokenizer.json.
const fromFile = new Tokenizer(JSON.parse(JSON.stringify(tokenizerJson())), tokenizerConfigJson());
const enc = new Encoder(fromFile);

describe("tokenizer", () => {
  it("fixes the special-token ids of the data contract", () => {
    expect(SPECIAL_TOKENS).toEqual(["<pad>", "<bos>", "<eos>", "<image>", "<sep>", "<unk>"]);
    SPECIAL_TOKENS.forEach((t, id) => expect(fromFile.token_to_id(t)).toBe(id));
    expect(VOCAB.length).toBe(SPECIAL_TOKENS.length + WORDS.length);
    WORDS.forEach((w, i) => expect(fromFile.token_to_id(w)).toBe(SPECIAL_TOKENS.length + i));
    expect([...WORDS]).toEqual([...WORDS].sort());
  });

  it("writes a WordLevel / Lowercase / Whitespace tokenizer.json", () => {
    const j = tokenizerJson() as {
      model: { type: string; unk_token: string };
      normalizer: object;
      pre_tokenizer: object;
    };
    expect(j.model.type).toBe("WordLevel");
    expect(j.model.unk_token).toBe("<unk>");
    expect(j.normalizer).toEqual({ type: "Lowercase" });
    expect(j.pre_tokenizer).toEqual({ type: "Whitespace" });
  });

  it("splits punctuation, lowercases, and maps unknown words to <unk>", () => {
    expect(fromFile.encode("What color is the Square?", { add_special_tokens: false }).tokens).toEqual([
      "what",
      "color",
      "is",
      "the",
      "square",
      "?",
    ]);
    expect(fromFile.encode("is there a pink square?", { add_special_tokens: false }).ids).toContain(UNK_ID);
    expect(() => enc.encode("is there a pink square?")).toThrow(/out-of-vocabulary/);
  });

  it("round-trips every generated question and answer of val and a train prefix without <unk>", () => {
    const items = [
      ...[...generateSplit(splitSpec("val"))].flatMap((i) => i.qas),
      ...[...generateSplit(splitSpec("train", 1, 3000))].flatMap((i) => i.qas),
    ];
    for (const qa of items) {
      for (const text of [qa.question, qa.answer]) {
        const ids = enc.encode(text);
        expect(ids.length).toBeGreaterThan(0);
        expect(ids).not.toContain(UNK_ID);
        expect(enc.decode(ids)).toBe(text);
      }
      expect(enc.decode([...enc.encode(qa.answer), EOS_ID])).toBe(qa.answer); // <eos> is skipped
    }
  });
});
