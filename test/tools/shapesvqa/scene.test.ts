import { describe, expect, it } from "vitest";
import { hashSeed, Rng } from "../../../tools/shapesvqa/rng";
import {
  boxesClash,
  IMAGE_SIZE,
  MAX_OBJECTS,
  MAX_SIZE,
  MIN_SIZE,
  sampleScene,
  type Scene,
} from "../../../tools/shapesvqa/scene";
import { COLOURS, SHAPES } from "../../../tools/shapesvqa/vocab";

const scenes: Scene[] = Array.from({ length: 3000 }, (_, i) => sampleScene(new Rng(hashSeed(99, i))));

describe("sampleScene", () => {
  it("places 1-8 objects inside the image with a 1 px border", () => {
    for (const s of scenes) {
      expect(s.objects.length).toBeGreaterThanOrEqual(1);
      expect(s.objects.length).toBeLessThanOrEqual(MAX_OBJECTS);
      for (const o of s.objects) {
        expect(o.size).toBeGreaterThanOrEqual(MIN_SIZE);
        expect(o.size).toBeLessThanOrEqual(MAX_SIZE);
        expect(o.x0).toBeGreaterThanOrEqual(1);
        expect(o.y0).toBeGreaterThanOrEqual(1);
        expect(o.x0 + o.size).toBeLessThanOrEqual(IMAGE_SIZE - 1);
        expect(o.y0 + o.size).toBeLessThanOrEqual(IMAGE_SIZE - 1);
      }
    }
  });

  it("never overlaps two objects (boxes keep a gap)", () => {
    for (const s of scenes) {
      for (let i = 0; i < s.objects.length; i++) {
        for (let j = i + 1; j < s.objects.length; j++)
          expect(boxesClash(s.objects[i], s.objects[j])).toBe(false);
      }
    }
  });

  it("uses every object count, shape and colour", () => {
    expect(new Set(scenes.map((s) => s.objects.length)).size).toBe(MAX_OBJECTS);
    const objs = scenes.flatMap((s) => s.objects);
    expect(new Set(objs.map((o) => o.shape)).size).toBe(SHAPES.length);
    expect(new Set(objs.map((o) => o.colour)).size).toBe(COLOURS.length);
  });

  it("boxesClash detects touching boxes and accepts separated ones", () => {
    const a = { shape: "square", colour: 0, rgb: [0, 0, 0], size: 10, x0: 10, y0: 10 } as const;
    expect(boxesClash(a, { ...a, x0: 21 })).toBe(true); // 1 px gap < MIN_GAP
    expect(boxesClash(a, { ...a, x0: 22 })).toBe(false);
    expect(boxesClash(a, { ...a, x0: 15, y0: 15 })).toBe(true);
  });
});
