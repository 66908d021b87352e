// ShapesVQA question families (docs/data.md table): each asker returns a question about a scene, with its
// one-word answer (captions: "colour shape, colour shape, ..."), or null when the scene cannot support an
// unambiguous question of that family. The unique-reference and margin rules live here and only here.
import { Rng } from "./rng";
import { cx2, cy2, IMAGE_SIZE, type Scene, type SceneObject } from "./scene";
import { COLOURS, NUMBER_WORDS, SHAPE_PLURALS, SHAPES, type Family } from "./vocab";

/** One generated question with its answer text. */
export interface QA {
  readonly family: Family;
  readonly question: string;
  readonly answer: string;
}

/** Stream state carried across questions (exist answers alternate yes/no for an exact 50/50). */
export interface AskState {
  existAsked: number;
}

/** Position questions need the object's centre at least this far (px) from the image's centre line. */
export const POSITION_MARGIN_PX = 8;
/** Relation questions need (2nd nearest distance)^2 >= this / 100 * (nearest)^2, i.e. 30% farther. */
export const RELATION_MARGIN_SQ_PCT = 169;
/** Caption questions need object centres at least this far apart in x (px) so left-to-right is clear. */
export const CAPTION_MIN_DX_PX = 2;

export const colourName = (o: SceneObject): string => COLOURS[o.colour].name;
const an = (word: string): string => (/^[aeiou]/.test(word) ? "an" : "a");
const countOf = (objs: readonly SceneObject[], f: (o: SceneObject) => boolean): number =>
  objs.reduce((n, o) => n + (f(o) ? 1 : 0), 0);

/** The noun phrases that pick out `o` alone in the scene ("red square", "square", "red object"). */
export function uniqueDescriptions(scene: Scene, o: SceneObject): string[] {
  const objs = scene.objects;
  const out: string[] = [];
  if (countOf(objs, (p) => p.shape === o.shape && p.colour === o.colour) === 1)
    out.push(`${colourName(o)} ${o.shape}`);
  if (countOf(objs, (p) => p.shape === o.shape) === 1) out.push(o.shape);
  if (countOf(objs, (p) => p.colour === o.colour) === 1) out.push(`${colourName(o)} object`);
  return out;
}

/** Squared doubled-unit distance between two object centres. */
export const dist2 = (a: SceneObject, b: SceneObject): number =>
  (cx2(a) - cx2(b)) ** 2 + (cy2(a) - cy2(b)) ** 2;

/** The object closest to `o`, or null when the runner-up is not clearly farther (RELATION_MARGIN_SQ_PCT). */
export function clearNearest(scene: Scene, o: SceneObject): SceneObject | null {
  const others = scene.objects.filter((p) => p !== o).sort((a, b) => dist2(o, a) - dist2(o, b));
  if (others.length === 0) return null;
  if (others.length > 1 && 100 * dist2(o, others[1]) < RELATION_MARGIN_SQ_PCT * dist2(o, others[0]))
    return null;
  return others[0];
}

/** Objects sorted left to right by centre, or null if two centres are closer than CAPTION_MIN_DX_PX in x. */
export function captionOrder(scene: Scene): SceneObject[] | null {
  const sorted = scene.objects.slice().sort((a, b) => cx2(a) - cx2(b));
  for (let i = 1; i < sorted.length; i++)
    if (cx2(sorted[i]) - cx2(sorted[i - 1]) < 2 * CAPTION_MIN_DX_PX) return null;
  return sorted;
}

/** The caption answer for objects in order: "red square, blue circle". */
export const captionText = (objs: readonly SceneObject[]): string =>
  objs.map((o) => `${colourName(o)} ${o.shape}`).join(", ");

type Asker = (scene: Scene, rng: Rng, state: AskState) => QA | null;

const askColour: Asker = (scene, rng) => {
  const c = scene.objects.filter((o) => countOf(scene.objects, (p) => p.shape === o.shape) === 1);
  if (c.length === 0) return null;
  const o = rng.pick(c);
  return { family: "colour", question: `what color is the ${o.shape}?`, answer: colourName(o) };
};

const askShape: Asker = (scene, rng) => {
  const c = scene.objects.filter((o) => countOf(scene.objects, (p) => p.colour === o.colour) === 1);
  if (c.length === 0) return null;
  const o = rng.pick(c);
  return { family: "shape", question: `what shape is the ${colourName(o)} object?`, answer: o.shape };
};

const askCount: Asker = (scene, rng) => {
  const objs = scene.objects;
  const kind = rng.int(3);
  if (kind === 0) {
    return { family: "count", question: "how many objects are there?", answer: NUMBER_WORDS[objs.length] };
  }
  // Spread the answers: pick a count value uniformly among the values the scene offers (absent
  // attributes give "zero"), then an attribute value with that count.
  const values: readonly (number | string)[] = kind === 1 ? SHAPES : COLOURS.map((_, i) => i);
  const has = (v: number | string) => (o: SceneObject) => (kind === 1 ? o.shape === v : o.colour === v);
  const counts = values.map((v) => countOf(objs, has(v)));
  const n = rng.pick([...new Set(counts)].sort((a, b) => a - b));
  const v = rng.pick(values.filter((_, i) => counts[i] === n));
  const question =
    kind === 1
      ? `how many ${SHAPE_PLURALS[v as (typeof SHAPES)[number]]} are there?`
      : `how many ${COLOURS[v as number].name} objects are there?`;
  return { family: "count", question, answer: NUMBER_WORDS[n] };
};

const askExist: Asker = (scene, rng, state) => {
  const objs = scene.objects;
  const yes = state.existAsked++ % 2 === 0;
  const has = (colour: number, shape: string) => objs.some((o) => o.colour === colour && o.shape === shape);
  let colour: number;
  let shape: string;
  if (yes) {
    const o = rng.pick(objs);
    colour = o.colour;
    shape = o.shape;
  } else {
    // Plausible distractor: keep one attribute of a real object, change the other to an unused pairing.
    const o = rng.pick(objs);
    const keepShape = rng.chance(1, 2);
    do {
      colour = keepShape ? rng.int(COLOURS.length) : o.colour;
      shape = keepShape ? o.shape : rng.pick(SHAPES);
    } while (has(colour, shape));
  }
  const name = COLOURS[colour].name;
  return { family: "exist", question: `is there ${an(name)} ${name} ${shape}?`, answer: yes ? "yes" : "no" };
};

const askPosition: Asker = (scene, rng) => {
  const vertical = rng.chance(1, 2);
  const centre = (o: SceneObject) => (vertical ? cy2(o) : cx2(o)) - IMAGE_SIZE; // doubled offset from centre
  const c = scene.objects.filter(
    (o) => Math.abs(centre(o)) >= 2 * POSITION_MARGIN_PX && uniqueDescriptions(scene, o).length > 0,
  );
  if (c.length === 0) return null;
  const o = rng.pick(c);
  const d = rng.pick(uniqueDescriptions(scene, o));
  if (vertical) {
    const answer = centre(o) < 0 ? "top" : "bottom";
    return { family: "position", question: `is the ${d} at the top or the bottom?`, answer };
  }
  const answer = centre(o) < 0 ? "left" : "right";
  return { family: "position", question: `is the ${d} on the left or the right?`, answer };
};

const askRelation: Asker = (scene, rng) => {
  const c = scene.objects.filter((o) => uniqueDescriptions(scene, o).length > 0 && clearNearest(scene, o));
  if (c.length === 0) return null;
  const o = rng.pick(c);
  const d = rng.pick(uniqueDescriptions(scene, o));
  const near = clearNearest(scene, o) as SceneObject;
  if (rng.chance(1, 2)) {
    return {
      family: "relation",
      question: `what color is the object closest to the ${d}?`,
      answer: colourName(near),
    };
  }
  return {
    family: "relation",
    question: `what shape is the object closest to the ${d}?`,
    answer: near.shape,
  };
};

const askCaption: Asker = (scene) => {
  const order = captionOrder(scene);
  if (!order) return null;
  return { family: "caption", question: "what is in the image?", answer: captionText(order) };
};

/** The asker of each family. */
export const ASKERS: Readonly<Record<Family, Asker>> = {
  colour: askColour,
  shape: askShape,
  count: askCount,
  exist: askExist,
  position: askPosition,
  relation: askRelation,
  caption: askCaption,
};
