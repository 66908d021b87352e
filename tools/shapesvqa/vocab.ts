// The closed vocabulary of ShapesVQA: colours (with their RGB), shapes, number words, the words of the
// question templates, and the special tokens with their fixed ids (the contract in docs/data.md).
// Every string a question or answer can contain is built from these lists, so the tokenizer never meets
// an unknown word; test/tools/shapesvqa/tokenizer.test.ts checks that on generated data.

/** A named object colour. RGB values are far from each other and from the grey background range. */
export interface ColourDef {
  readonly name: string;
  readonly rgb: readonly [number, number, number];
}

/** Eight colours; the closest pair (red/orange, orange/yellow) is still ~90 apart in RGB. */
export const COLOURS: readonly ColourDef[] = [
  { name: "red", rgb: [215, 35, 35] },
  { name: "orange", rgb: [250, 140, 15] },
  { name: "yellow", rgb: [245, 225, 40] },
  { name: "green", rgb: [35, 165, 55] },
  { name: "cyan", rgb: [40, 210, 220] },
  { name: "blue", rgb: [35, 70, 220] },
  { name: "purple", rgb: [140, 40, 180] },
  { name: "white", rgb: [245, 245, 245] },
];

/** Shape names and plurals (the count family uses the plural). Rasterised in render.ts. */
export const SHAPES = ["circle", "square", "triangle", "diamond", "cross", "star"] as const;
export type ShapeName = (typeof SHAPES)[number];
/** Patch-label classes of the training-only auxiliary loss (patches.ts): 0 = background, then
 * 1 + colour * |SHAPES| + shape. */
export const NUM_PATCH_CLASSES = 1 + COLOURS.length * SHAPES.length;
export const SHAPE_PLURALS: Readonly<Record<ShapeName, string>> = {
  circle: "circles",
  square: "squares",
  triangle: "triangles",
  diamond: "diamonds",
  cross: "crosses",
  star: "stars",
};

/** Answers of the count family; index = count. Scenes hold at most 8 objects. */
export const NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight"] as const;

/** Question families, in the order used for balancing and reports. */
export const FAMILIES = ["colour", "shape", "count", "exist", "position", "relation", "caption"] as const;
export type Family = (typeof FAMILIES)[number];

/** Special tokens; the index in this array is the token id (fixed by the data contract). */
export const SPECIAL_TOKENS = ["<pad>", "<bos>", "<eos>", "<image>", "<sep>", "<unk>"] as const;
export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const IMAGE_ID = 3;
export const SEP_ID = 4;
export const UNK_ID = 5;

/** Words of the fixed templates in questions.ts (punctuation marks are tokens of their own). */
const TEMPLATE_WORDS = [
  "what",
  "color",
  "is",
  "the",
  "shape",
  "object",
  "objects",
  "how",
  "many",
  "are",
  "there",
  "a",
  "an",
  "on",
  "at",
  "left",
  "or",
  "right",
  "top",
  "bottom",
  "closest",
  "to",
  "in",
  "image",
  "yes",
  "no",
  "?",
  ",",
];

/** All non-special tokens, sorted by code unit and de-duplicated: ids 6.. in this order. */
export const WORDS: readonly string[] = [
  ...new Set([
    ...TEMPLATE_WORDS,
    ...COLOURS.map((c) => c.name),
    ...SHAPES,
    ...SHAPES.map((s) => SHAPE_PLURALS[s]),
    ...NUMBER_WORDS,
  ]),
].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** The full id -> token table: specials first, then WORDS. */
export const VOCAB: readonly string[] = [...SPECIAL_TOKENS, ...WORDS];
