// worker/image/png.ts: the bounded inflate in front of fast-png. A PNG whose zlib stream is split over
// many IDAT chunks (empty ones, and chunks longer than the checker's 4 KB slices) decodes to the pixels
// of the one-chunk file; a truncated stream and one that inflates past the header's size are refused as
// corrupt (ImageHeaderError), before fast-png sees them.
import { describe, expect, it } from "vitest";
import { ImageHeaderError } from "../../../worker/image/header";
import { decodePng } from "../../../worker/image/png";
import { pngBomb, pngWith, zlib } from "../helpers/images";

const u32be = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

/** Filtered rows (filter 0) of a width x height RGB picture with little redundancy (so it compresses poorly). */
function rows(width: number, height: number): Uint8Array {
  const out = new Uint8Array(height * (1 + 3 * width));
  let s = 12345;
  for (let y = 0; y < height; y++)
    for (let i = 1; i <= 3 * width; i++)
      out[y * (1 + 3 * width) + i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return out;
}

/** pngWith's file with its one IDAT chunk cut into chunks of the given sizes (zero CRCs, as pngWith). */
function splitIdat(png: Uint8Array, sizes: number[]): Uint8Array {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const ihdrEnd = 8 + 12 + 13;
  const len = view.getUint32(ihdrEnd);
  const data = png.subarray(ihdrEnd + 8, ihdrEnd + 8 + len);
  const parts: number[] = [];
  let p = 0;
  for (const n of [...sizes, data.length]) {
    const piece = data.subarray(p, Math.min(p + n, data.length));
    p += piece.length;
    parts.push(...u32be(piece.length), ...[73, 68, 65, 84], ...piece, 0, 0, 0, 0);
    if (p >= data.length) break;
  }
  return Uint8Array.from([...png.subarray(0, ihdrEnd), ...parts, ...png.subarray(ihdrEnd + 12 + len)]);
}

describe("decodePng's bounded inflate", () => {
  it("decodes a stream split over many IDAT chunks as the one-chunk file", async () => {
    const one = pngWith(60, 60, await zlib(rows(60, 60)));
    const want = await decodePng(one);
    expect(want.width).toBe(60);
    const split = splitIdat(one, [0, 7, 5000, 0, 3, 4100]);
    expect(split.length).toBeGreaterThan(one.length);
    const got = await decodePng(split);
    expect(Array.from(got.data)).toEqual(Array.from(want.data));
  });

  it("refuses a truncated stream and a bomb as corrupt", async () => {
    const z = await zlib(rows(40, 30));
    await expect(decodePng(pngWith(40, 30, z.subarray(0, z.length >> 1)))).rejects.toThrow(
      /does not inflate/,
    );
    const bomb = decodePng(await pngBomb());
    await expect(bomb).rejects.toBeInstanceOf(ImageHeaderError);
    await expect(decodePng(await pngBomb())).rejects.toThrow(/inflates past/);
  });
});
