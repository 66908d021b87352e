// Checks every generated question against an independent reading of the scene: the question text is
// parsed back, its reference resolved among the objects, and the answer recomputed from geometry.
import { describe, expect, it } from "vitest";
import { ASKERS, type AskState, type QA } from "../../../tools/shapesvqa/questions";
import { hashSeed, Rng } from "../../../tools/shapesvqa/rng";
import { sampleScene, type Scene, type SceneObject } from "../../../tools/shapesvqa/scene";
import {
  COLOURS,
  FAMILIES,
  NUMBER_WORDS,
  SHAPE_PLURALS,
  SHAPES,
  WORDS,
} from "../../../tools/shapesvqa/vocab";

const colour = (o: SceneObject) => COLOURS[o.colour].name;
const centre = (o: SceneObject) => [o.x0 + o.size / 2, o.y0 + o.size / 2];

/** The objects a noun phrase ("red square", "square", "red object") refers to. */
function resolve(scene: Scene, phrase: string): SceneObject[] {
  const [a, b] = phrase.split(" ");
  if (b === undefined) return scene.objects.filter((o) => o.shape === a);
  if (b === "object") return scene.objects.filter((o) => colour(o) === a);
  return scene.objects.filter((o) => colour(o) === a && o.shape === b);
}

/** Recomputes the answer of `qa` from the scene, asserting the family's uniqueness and margin rules. */
function oracle(scene: Scene, qa: QA): string {
  const q = qa.question;
  const one = (phrase: string) => {
    const r = resolve(scene, phrase);
    expect(r, `"${phrase}" must be unique`).toHaveLength(1);
    return r[0];
  };
  let m: RegExpMatchArray | null;
  switch (qa.family) {
    case "colour":
      m = q.match(/^what color is the (\w+)\?$/) as RegExpMatchArray;
      return colour(one(m[1]));
    case "shape":
      m = q.match(/^what shape is the (\w+) object\?$/) as RegExpMatchArray;
      return one(`${m[1]} object`).shape;
    case "count": {
      if (q === "how many objects are there?") return NUMBER_WORDS[scene.objects.length];
      m = q.match(/^how many (\w+)( objects)? are there\?$/) as RegExpMatchArray;
      const shape = SHAPES.find((s) => SHAPE_PLURALS[s] === m![1]);
      const n = scene.objects.filter((o) => (m![2] ? colour(o) === m![1] : o.shape === shape)).length;
      if (!m[2]) expect(shape).toBeDefined();
      return NUMBER_WORDS[n];
    }
    case "exist": {
      m = q.match(/^is there (an?) (\w+) (\w+)\?$/) as RegExpMatchArray;
      expect(m[1]).toBe(/^[aeiou]/.test(m[2]) ? "an" : "a");
      return resolve(scene, `${m[2]} ${m[3]}`).length > 0 ? "yes" : "no";
    }
    case "position": {
      m = q.match(
        /^is the (.+) (?:on the left or the right|at the top or the bottom)\?$/,
      ) as RegExpMatchArray;
      const [x, y] = centre(one(m[1]));
      const v = q.includes("left") ? x : y;
      expect(Math.abs(v - 48)).toBeGreaterThanOrEqual(8); // POSITION_MARGIN_PX
      return q.includes("left") ? (v < 48 ? "left" : "right") : v < 48 ? "top" : "bottom";
    }
    case "relation": {
      m = q.match(/^what (color|shape) is the object closest to the (.+)\?$/) as RegExpMatchArray;
      const ref = one(m[2]);
      const [rx, ry] = centre(ref);
      const byDist = scene.objects
        .filter((o) => o !== ref)
        .map((o) => ({ o, d: Math.hypot(centre(o)[0] - rx, centre(o)[1] - ry) }))
        .sort((a, b) => a.d - b.d);
      if (byDist.length > 1) expect(byDist[1].d).toBeGreaterThanOrEqual(1.3 * byDist[0].d - 1e-9); // 30% margin
      return m[1] === "color" ? colour(byDist[0].o) : byDist[0].o.shape;
    }
    case "caption": {
      expect(q).toBe("what is in the image?");
      const sorted = scene.objects.slice().sort((a, b) => centre(a)[0] - centre(b)[0]);
      for (let i = 1; i < sorted.length; i++)
        expect(centre(sorted[i])[0] - centre(sorted[i - 1])[0]).toBeGreaterThanOrEqual(2);
      return sorted.map((o) => `${colour(o)} ${o.shape}`).join(", ");
    }
  }
}

describe("question families", () => {
  const scenes = Array.from({ length: 1500 }, (_, i) => sampleScene(new Rng(hashSeed(11, i))));
  const state: AskState = { existAsked: 0 };
  const rng = new Rng(12);
  const asked = scenes.flatMap((scene) =>
    FAMILIES.map((f) => ({ scene, family: f, qa: ASKERS[f](scene, rng, state) })),
  );

  it.each(FAMILIES)("%s: every answer matches the scene, references are unique, margins hold", (family) => {
    const mine = asked.filter((a) => a.family === family && a.qa);
    expect(mine.length).toBeGreaterThan(300); // most scenes support most families
    for (const { scene, qa } of mine) {
      expect(qa!.family).toBe(family);
      expect(oracle(scene, qa!), qa!.question).toBe(qa!.answer);
    }
  });

  it("uses only vocabulary words and ends questions with '?'", () => {
    const vocab = new Set(WORDS);
    for (const { qa } of asked) {
      if (!qa) continue;
      expect(qa.question.endsWith("?")).toBe(true);
      for (const w of `${qa.question} ${qa.answer}`.split(/\s+|(?=[?,])/))
        if (w) expect(vocab.has(w), w).toBe(true);
    }
  });

  it("spreads answers: exist is exactly 50/50, counts and positions use many values", () => {
    const answers = (f: string) => asked.filter((a) => a.family === f && a.qa).map((a) => a.qa!.answer);
    const exist = answers("exist");
    expect(Math.abs(exist.filter((a) => a === "yes").length * 2 - exist.length)).toBeLessThanOrEqual(1);
    const count = answers("count");
    expect(new Set(count).size).toBe(NUMBER_WORDS.length);
    const top = Math.max(...NUMBER_WORDS.map((w) => count.filter((a) => a === w).length));
    expect(top / count.length).toBeLessThan(0.4);
    expect(new Set(answers("position"))).toEqual(new Set(["left", "right", "top", "bottom"]));
  });

  it("skips families a scene cannot support unambiguously", () => {
    const single = { ...scenes[0], objects: [scenes[0].objects[0]] };
    expect(ASKERS.relation(single, new Rng(1), state)).toBeNull();
    const o = scenes[0].objects[0];
    const twins = { ...scenes[0], objects: [o, { ...o, x0: o.x0 < 48 ? 70 : 2 }] };
    expect(ASKERS.colour(twins, new Rng(1), state)).toBeNull();
    expect(ASKERS.shape(twins, new Rng(1), state)).toBeNull();
  });
});
