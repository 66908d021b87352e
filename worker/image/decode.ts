// Image bytes -> the engine's ImageInput, with the API's statuses: the header is read first and its size
// checked against the limits (413), unsupported formats are 415, undecodable data is 422. A JPEG is
// decoded at the reduced DCT scale that still covers `target` (worker/image/jpeg.ts).
import type { ImageInput } from "../../wasm/index";
import { ApiError } from "../errors";
import { MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE } from "../limits";
import { ImageHeaderError, readImageHeader, type ImageHeader } from "./header";
import { decodeJpeg, scaledSide } from "./jpeg";
import { decodePng } from "./png";

function apiError(err: ImageHeaderError, param: string): ApiError {
  return err.kind === "unsupported"
    ? new ApiError(415, err.message, "invalid_request_error", "unsupported_image_format", param)
    : new ApiError(
        422,
        `The image cannot be decoded: ${err.message}`,
        "invalid_request_error",
        "invalid_image",
        param,
      );
}

/** Format and size from the header, checked against the limits; throws the ApiError. */
export function checkImage(bytes: Uint8Array, param: string): ImageHeader {
  try {
    const h = readImageHeader(bytes);
    if (h.width === 0 || h.height === 0) throw new ImageHeaderError("the image is empty", "corrupt");
    if (h.width > MAX_IMAGE_SIDE || h.height > MAX_IMAGE_SIDE || h.width * h.height > MAX_IMAGE_PIXELS) {
      throw new ApiError(
        413,
        `The image is ${h.width} x ${h.height}; the limit is ${MAX_IMAGE_PIXELS} pixels and ${MAX_IMAGE_SIDE} per side`,
        "invalid_request_error",
        "image_too_large",
        param,
      );
    }
    return h;
  } catch (err) {
    if (err instanceof ImageHeaderError) throw apiError(err, param);
    throw err;
  }
}

/**
 * Decodes a PNG or JPEG for a model whose preprocessing letterboxes into `target` x `target` pixels.
 * `param` names the request field, for the error; `header` is checkImage's, when the caller has it.
 */
export async function decodeImage(
  bytes: Uint8Array,
  param: string,
  target: number,
  header?: ImageHeader,
): Promise<ImageInput> {
  const h = header ?? checkImage(bytes, param);
  try {
    if (h.format === "png") {
      const img = await decodePng(bytes);
      if (img.width !== h.width || img.height !== h.height)
        throw new ImageHeaderError("decoded size differs from the header", "corrupt");
      return img;
    }
    const img = decodeJpeg(bytes, target);
    if (img.width !== scaledSide(h.width, img.scale) || img.height !== scaledSide(h.height, img.scale))
      throw new ImageHeaderError("decoded size differs from the header", "corrupt");
    return img;
  } catch (err) {
    if (err instanceof ImageHeaderError) throw apiError(err, param);
    throw err;
  }
}
