// Text <-> ids through @huggingface/tokenizers on the model's tokenizer.json, and the prompt layout of
// atp-tiny (docs/data.md, tools/shapesvqa/prompt.ts): <bos> <image>*Nv {question} <sep>; the answer
// follows and ends with <eos>. The special ids come from config.json (one model description).
import { Tokenizer } from "@huggingface/tokenizers";
import type { ModelConfig } from "./config";

interface TokenizerJson {
  added_tokens?: { id: number; content: string }[];
}

/** The model's tokenizer and prompt builder. */
export class TextTokenizer {
  private readonly tok: Tokenizer;

  constructor(
    json: object,
    private readonly cfg: ModelConfig,
  ) {
    // @huggingface/tokenizers reads special-token roles from a tokenizer_config; derive it from the ids.
    const added = (json as TokenizerJson).added_tokens ?? [];
    const name = (id: number) => added.find((t) => t.id === id)?.content;
    const roles: Record<string, string | undefined> = {
      pad_token: name(cfg.padId),
      bos_token: name(cfg.bosId),
      eos_token: name(cfg.eosId),
      unk_token: name(cfg.unkId),
    };
    this.tok = new Tokenizer(json, { ...roles, clean_up_tokenization_spaces: true });
  }

  /** Ids of `text`, no special tokens added. */
  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  /** Text of `ids`, special tokens skipped. */
  decode(ids: readonly number[]): string {
    return this.tok.decode(ids.slice(), { skip_special_tokens: true });
  }

  /** Prompt ids up to and including <sep>: <bos> <image>*Nv {question} <sep>. */
  promptIds(question: string | readonly number[]): number[] {
    const q = typeof question === "string" ? this.encode(question) : [...question];
    const c = this.cfg;
    return [c.bosId, ...new Array<number>(c.imageSeqLength).fill(c.imageTokenId), ...q, c.sepId];
  }
}
