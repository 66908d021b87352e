// Where request images come from: `data:` URLs (OpenAI image_url parts), base64 strings and byte arrays
// (Workers AI's image-to-text input). Remote URLs are refused: the Worker does not fetch on a client's
// behalf. `imageKey` names an image by its bytes, for the model's cache of vision outputs.
import { badRequest } from "../errors";

/** Bytes of a base64 string (standard or URL-safe alphabet, padding optional). */
export function base64Bytes(text: string, param: string): Uint8Array {
  const clean = text.replace(/\s+/g, "").replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) {
    throw badRequest("The image is not valid base64", "invalid_base64", param);
  }
  const bin = atob(clean.padEnd(Math.ceil(clean.length / 4) * 4, "="));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Bytes of a `data:[<type>][;base64],<data>` URL. */
export function dataUrlBytes(url: string, param: string): Uint8Array {
  if (!url.startsWith("data:")) {
    throw badRequest(
      "Only data: URLs are supported for images (data:image/png;base64,...); remote URLs are not fetched",
      "unsupported_image_url",
      param,
    );
  }
  const comma = url.indexOf(",");
  if (comma < 0) throw badRequest("Malformed data: URL", "invalid_image_url", param);
  const meta = url.slice(5, comma);
  if (!meta.split(";").includes("base64")) {
    throw badRequest("Image data: URLs must be base64-encoded", "invalid_image_url", param);
  }
  return base64Bytes(url.slice(comma + 1), param);
}

/** The image's content key: SHA-256 of its file bytes, hex (Web Crypto, native in workerd). */
export async function imageKey(bytes: Uint8Array): Promise<string> {
  // request bodies and decoded base64 are never backed by a SharedArrayBuffer, which digest refuses
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
