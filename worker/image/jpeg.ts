// JPEG -> 8-bit RGB through jpeg-js (baseline and progressive; gray and CMYK converted by the library),
// with its own resolution and memory guards set from the API limits as a second line behind the header
// check.
import { decode } from "jpeg-js";
import type { ImageInput } from "../../wasm/index";
import { MAX_IMAGE_PIXELS } from "../limits";
import { ImageHeaderError } from "./header";

/** jpeg-js's allocation cap: RGB output plus its component planes for MAX_IMAGE_PIXELS, with margin. */
const JPEG_MAX_MEMORY_MB = Math.ceil((MAX_IMAGE_PIXELS * 8) / (1024 * 1024));

/** Decodes a JPEG whose header passed the size limits. Throws ImageHeaderError (corrupt) on bad data. */
export function decodeJpeg(bytes: Uint8Array): ImageInput {
  try {
    const img = decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: true,
      maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6,
      maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB,
    });
    return { data: img.data, width: img.width, height: img.height, channels: 3 };
  } catch (err) {
    throw new ImageHeaderError(`JPEG: ${(err as Error).message}`, "corrupt");
  }
}
