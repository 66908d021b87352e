// Image format and dimensions from the first bytes, before anything is decoded: the pixel limits are
// enforced on what the header claims, so a small file that would expand to gigabytes is refused unread.
// PNG: signature, then the IHDR chunk (width, height as big-endian u32 at bytes 16 and 20).
// JPEG: SOI, then marker segments up to the first SOFn (frame header: precision, height, width).

/** Formats the API decodes. */
export type ImageFormat = "png" | "jpeg";

/** What the header says. */
export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Thrown for an unsupported format (415) or a header that cannot be read (422). */
export class ImageHeaderError extends Error {
  constructor(
    message: string,
    readonly kind: "unsupported" | "corrupt",
  ) {
    super(message);
  }
}

/** A name for a format the API does not decode, to say what was sent. */
function otherFormat(b: Uint8Array): string | null {
  const ascii = (from: number, to: number) => String.fromCharCode(...b.subarray(from, to));
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "WebP";
  if (ascii(0, 4) === "GIF8") return "GIF";
  if (ascii(0, 2) === "BM") return "BMP";
  if (ascii(4, 8) === "ftyp") return "HEIF/AVIF";
  return null;
}

function pngHeader(b: Uint8Array, view: DataView): ImageHeader {
  if (b.length < 24 || String.fromCharCode(...b.subarray(12, 16)) !== "IHDR") {
    throw new ImageHeaderError("PNG without an IHDR header", "corrupt");
  }
  return { format: "png", width: view.getUint32(16), height: view.getUint32(20) };
}

/** SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) are not frames. */
const isFrameMarker = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

function jpegHeader(b: Uint8Array, view: DataView): ImageHeader {
  let p = 2;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) break;
    const marker = b[p + 1];
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      p += 2; // segments without a length
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break; // scan data or end before any frame header
    const len = view.getUint16(p + 2);
    if (isFrameMarker(marker)) {
      if (p + 9 > b.length) break;
      return { format: "jpeg", height: view.getUint16(p + 5), width: view.getUint16(p + 7) };
    }
    if (len < 2) break;
    p += 2 + len;
  }
  throw new ImageHeaderError("JPEG without a readable frame header", "corrupt");
}

/** Format and dimensions of `bytes`; throws ImageHeaderError. */
export function readImageHeader(bytes: Uint8Array): ImageHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 8 && PNG_SIGNATURE.every((v, i) => bytes[i] === v)) return pngHeader(bytes, view);
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
    return jpegHeader(bytes, view);
  const other = bytes.length >= 12 ? otherFormat(bytes) : null;
  throw new ImageHeaderError(
    `${other ? `${other} images are` : "This image format is"} not supported; send PNG or JPEG`,
    "unsupported",
  );
}
