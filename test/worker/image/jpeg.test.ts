// worker/image/jpeg.ts: libjpeg-turbo (WebAssembly) against jpeg-js as the independent decoder -- full-size
// pixels agree, a DCT-scaled decode equals the block means of the full one, the scale is the smallest
// that still covers the letterbox, corrupt data is a 422-kind error that leaves the next decode intact --
// and a 4 Mpx JPEG, refused before this decoder, is answered through the API.
import { decode as jpegJs, encode as jpegJsEncode } from "jpeg-js";
import { describe, expect, it } from "vitest";
import { ImageHeaderError } from "../../../worker/image/header";
import { decodeJpeg, jpegScale, scaledSide } from "../../../worker/image/jpeg";
import { call, chatBody, IMAGES, QUESTION, seedWeights, urlBytes } from "../helpers/api";
import { base64 } from "../helpers/images";

function reference(bytes: Uint8Array) {
  return jpegJs(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 512 });
}

function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/** A side x side RGBA test picture: smooth gradients, a disc and a few hard edges. */
function picture(side: number): Uint8Array {
  const px = new Uint8Array(side * side * 4);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const i = (y * side + x) * 4;
      const disc = (x - side / 2) ** 2 + (y - side / 3) ** 2 < (side / 4) ** 2;
      px[i] = disc ? 230 : Math.floor((255 * x) / side);
      px[i + 1] = disc ? 40 : Math.floor((255 * y) / side);
      px[i + 2] = x > (side * 3) / 4 && y > (side * 3) / 4 ? 250 : 60;
      px[i + 3] = 255;
    }
  return px;
}

const jpegOf = (side: number) =>
  new Uint8Array(jpegJsEncode({ data: picture(side), width: side, height: side }, 90).data);

describe("jpegScale", () => {
  it("is the smallest m/8 whose output covers the letterboxed size", () => {
    expect(jpegScale(2048, 2048, 96)).toBe(1); // 256 x 256
    expect(jpegScale(4000, 3000, 96)).toBe(1); // 500 x 375 >= 96 x 72
    expect(jpegScale(200, 100, 96)).toBe(4); // 100 x 50 >= 96 x 48
    expect(jpegScale(150, 100, 96)).toBe(6); // 113 x 75 >= 96 x 64
    expect(jpegScale(96, 96, 96)).toBe(8);
    expect(jpegScale(40, 30, 96)).toBe(8); // smaller than the target: full size
    for (const [w, h] of [
      [777, 333],
      [97, 1500],
      [8192, 512],
    ]) {
      const m = jpegScale(w, h, 96);
      const long = Math.max(w, h);
      const fits = (k: number) =>
        scaledSide(w, k) >= Math.ceil((w * 96) / long) && scaledSide(h, k) >= Math.ceil((h * 96) / long);
      expect(fits(m)).toBe(true);
      if (m > 1) expect(fits(m - 1)).toBe(false);
    }
  });
});

describe("decodeJpeg", () => {
  it("decodes the fixtures at full size as jpeg-js does, up to the two libraries' IDCT and upsampling", () => {
    for (const name of ["shapes.jpg", "photo.jpg"]) {
      const bytes = urlBytes(IMAGES[name]);
      const ref = reference(bytes);
      const img = decodeJpeg(bytes);
      expect([img.width, img.height, img.channels, img.scale]).toEqual([ref.width, ref.height, 3, 8]);
      expect(meanAbsDiff(img.data, ref.data)).toBeLessThan(2.5);
    }
  });

  it("decodes CMYK, grayscale and progressive JPEGs to RGB as jpeg-js does", () => {
    for (const name of ["photo-cmyk.jpg", "photo-gray.jpg", "photo-progressive.jpg"]) {
      const bytes = urlBytes(IMAGES[name]);
      const ref = reference(bytes);
      const img = decodeJpeg(bytes);
      expect([img.width, img.height, img.channels], name).toEqual([ref.width, ref.height, 3]);
      expect(meanAbsDiff(img.data, ref.data), name).toBeLessThan(2.5);
      expect(decodeJpeg(bytes, 96).scale, name).toBe(6);
    }
  });

  it("decodes a 4 Mpx JPEG at 1/8: each pixel the mean of its 8 x 8 block of the full decode", () => {
    const bytes = jpegOf(2048);
    const img = decodeJpeg(bytes, 96);
    expect([img.width, img.height, img.scale]).toEqual([256, 256, 1]);
    const full = reference(bytes);
    const means = new Float64Array(256 * 256 * 3);
    for (let y = 0; y < 2048; y++)
      for (let x = 0; x < 2048; x++)
        for (let c = 0; c < 3; c++)
          means[((y >> 3) * 256 + (x >> 3)) * 3 + c] += full.data[(y * 2048 + x) * 3 + c] / 64;
    expect(meanAbsDiff(img.data, means)).toBeLessThan(2);
  });

  it("refuses corrupt data with a 'corrupt' error and decodes the next image as before", () => {
    const good = urlBytes(IMAGES["shapes.jpg"]);
    const before = decodeJpeg(good, 96);
    const noScan = good.subarray(0, 200); // tables, no frame data
    const garbage = Uint8Array.from([0xff, 0xd8, 0xff, 0xc0, 0, 11, ...new Array(64).fill(0x5a)]);
    for (const bad of [noScan, garbage]) {
      let err: unknown;
      try {
        decodeJpeg(bad, 96);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ImageHeaderError);
      expect((err as ImageHeaderError).kind).toBe("corrupt");
    }
    expect(decodeJpeg(good, 96).data).toEqual(before.data);
  });
});

describe("a 4 Mpx JPEG through the API", () => {
  it("is answered (the full-size jpeg-js decode refused it: 422 past its memory cap)", async () => {
    await seedWeights();
    const url = `data:image/jpeg;base64,${base64(jpegOf(2048))}`;
    const res = await call("/v1/chat/completions", chatBody(url, QUESTION, { max_tokens: 2 }));
    expect(res.status).toBe(200);
  });
});
