import { decode } from "fast-png";
import { describe, expect, it } from "vitest";
import { rgbToPng, upscale } from "../../../tools/shapesvqa/png";
import { blit, canvas, drawText, textWidth, wrap } from "../../../tools/shapesvqa/text";

describe("png and contact-sheet helpers", () => {
  it("encodes RGB that decodes back to the same bytes", () => {
    const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) & 255);
    const img = decode(rgbToPng(5, 3, rgb));
    expect([img.width, img.height, img.channels]).toEqual([5, 3, 3]);
    expect(Uint8Array.from(img.data)).toEqual(rgb);
    expect(() => rgbToPng(5, 4, rgb)).toThrow();
  });

  it("upscales by pixel replication", () => {
    const up = upscale(2, 1, Uint8Array.from([1, 2, 3, 4, 5, 6]), 2);
    expect([...up]).toEqual([1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
  });

  it("draws text pixels, wraps at a width, and blits images", () => {
    const c = canvas(80, 20, [255, 255, 255]);
    drawText(c, 1, 1, "red?", [0, 0, 0]);
    expect(c.rgb.some((v) => v === 0)).toBe(true);
    expect(textWidth("red square")).toBeGreaterThan(textWidth("red"));
    const lines = wrap("what color is the object closest to the red square?", 80);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(textWidth(l)).toBeLessThanOrEqual(80);
    expect(lines.join(" ")).toBe("what color is the object closest to the red square?");
    blit(c, 0, 0, 1, 1, Uint8Array.from([9, 8, 7]));
    expect([...c.rgb.subarray(0, 3)]).toEqual([9, 8, 7]);
  });
});
