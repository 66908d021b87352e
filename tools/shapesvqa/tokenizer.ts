// The ShapesVQA tokenizer: the closed vocabulary of vocab.ts written as a Hugging Face `tokenizer.json`
// (WordLevel model, Lowercase normalizer, Whitespace pre-tokenizer so "square?" -> "square", "?"), and an
// encoder that runs @huggingface/tokenizers on that very JSON so the file and the generated ids agree.
import { Tokenizer } from "@huggingface/tokenizers";
import { SPECIAL_TOKENS, UNK_ID, VOCAB } from "./vocab";

/** A WordLevel tokenizer.json over `tokens` (specials first, ids in order), as this project writes them. */
export function wordLevelTokenizerJson(
  tokens: readonly string[],
  specials: readonly string[],
  unk: string,
): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => (vocab[t] = i));
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: "Lowercase" },
    pre_tokenizer: { type: "Whitespace" },
    post_processor: null,
    decoder: null,
    model: { type: "WordLevel", vocab, unk_token: unk },
  };
}

/** tokenizer.json contents, loadable by the Rust `tokenizers` library and by @huggingface/tokenizers. */
export function tokenizerJson(): Record<string, unknown> {
  return wordLevelTokenizerJson(VOCAB, SPECIAL_TOKENS, SPECIAL_TOKENS[UNK_ID]);
}

/** tokenizer_config.json contents (special-token roles; needed by @huggingface/tokenizers for WordLevel). */
export function tokenizerConfigJson(): Record<string, unknown> {
  return {
    tokenizer_class: "PreTrainedTokenizerFast",
    pad_token: "<pad>",
    bos_token: "<bos>",
    eos_token: "<eos>",
    unk_token: "<unk>",
    additional_special_tokens: ["<image>", "<sep>"],
    clean_up_tokenization_spaces: true,
    model_max_length: 512,
  };
}

/** Loads a tokenizer from tokenizer.json contents (default: the one built from vocab.ts). */
export function loadTokenizer(
  json: object = tokenizerJson(),
  config: object = tokenizerConfigJson(),
): Tokenizer {
  return new Tokenizer(json, config);
}

/** Text -> ids through @huggingface/tokenizers, memoised (the template language has few distinct strings). */
export class Encoder {
  private readonly cache = new Map<string, readonly number[]>();
  constructor(readonly tokenizer: Tokenizer = loadTokenizer()) {}

  /** Ids of `text`, no special tokens added. Throws if any word is outside the vocabulary. */
  encode(text: string): readonly number[] {
    let ids = this.cache.get(text);
    if (ids === undefined) {
      ids = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
      if (ids.includes(UNK_ID)) throw new Error(`out-of-vocabulary word in ${JSON.stringify(text)}`);
      this.cache.set(text, ids);
    }
    return ids;
  }

  /** Ids -> text (specials skipped, punctuation spacing cleaned up). */
  decode(ids: readonly number[]): string {
    return this.tokenizer.decode(ids.slice(), { skip_special_tokens: true });
  }
}
