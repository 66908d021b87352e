// Hand-made image files for the input-handling tests: headers that claim huge sizes, a PNG whose small
// IHDR fronts a zlib bomb, corrupt and unsupported formats. Chunk CRCs are left zero: neither the Worker
// nor fast-png (without checkCrc) reads them.

const u32be = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const ascii = (s: string) => [...s].map((ch) => ch.charCodeAt(0));

/** One PNG chunk: length, type, data, CRC (zero). */
function chunk(type: string, data: ArrayLike<number>): number[] {
  return [...u32be(data.length), ...ascii(type), ...Array.from(data), 0, 0, 0, 0];
}

/** A PNG of the given header (8-bit RGB) and IDAT payload. */
export function pngWith(width: number, height: number, idat: Uint8Array): Uint8Array {
  return Uint8Array.from([
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
    ...chunk("IHDR", [...u32be(width), ...u32be(height), 8, 2, 0, 0, 0]),
    ...chunk("IDAT", idat),
    ...chunk("IEND", []),
  ]);
}

/** zlib-compressed bytes (CompressionStream "deflate" is the zlib format). */
export async function zlib(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A 64 x 64 PNG whose image data inflates to 32 MB of zeros (~32 KB on the wire). */
export async function pngBomb(): Promise<Uint8Array> {
  return pngWith(64, 64, await zlib(new Uint8Array(32 << 20)));
}

/** A JPEG start (SOI, a JFIF APP0, SOF0) claiming width x height, with no scan data. */
export function jpegHeaderOnly(width: number, height: number): Uint8Array {
  return Uint8Array.from([
    0xff,
    0xd8,
    ...[0xff, 0xe0, 0, 16, ...ascii("JFIF"), 0, 1, 1, 0, 0, 1, 0, 1, 0, 0],
    ...[0xff, 0xc0, 0, 17, 8, height >> 8, height & 255, width >> 8, width & 255, 3],
    ...[1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1],
  ]);
}

/** Base64 of bytes. */
export function base64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** A data: URL of bytes. */
export const dataUrl = (bytes: Uint8Array, type = "image/png") => `data:${type};base64,${base64(bytes)}`;
