// JPEG -> 8-bit RGB through libjpeg-turbo: the TurboJPEG API of @cwasm/jpeg-turbo's WebAssembly build
// (baseline and progressive; gray to RGB by the library, CMYK and YCCK through its CMYK output and
// `cmykToRgb`, since libjpeg converts those to nothing else). A JPEG larger than the
// model needs is decoded at reduced scale in the DCT domain: libjpeg's scaled inverse DCT gives the image
// at M/8 of its size (M = 1..8) straight from the coefficients, and the smallest M whose output still
// covers the size preprocessing shrinks the image to is chosen (docs/cost.md, "The vision path"). A 2048 x
// 2048 photo for a 96-pixel vision tower is decoded at 1/8: every coefficient is still entropy-decoded,
// but the inverse DCT keeps only each block's DC term (its 8 x 8 mean), and nothing full-size is written.
// One Wasm instance per decode: its linear memory (a progressive JPEG's coefficient buffers) goes with it,
// and a decode that fails (libjpeg's error exit is a longjmp, thrown here as a JS error) leaves nothing
// behind for the next request.
import turboModule from "@cwasm/jpeg-turbo/jpeg-turbo.wasm";
import type { ImageInput } from "../../wasm/index";
import { ImageHeaderError } from "./header";

/** The TurboJPEG entry points the build exports (pointers are offsets in its memory). */
interface TurboJpeg {
  memory: WebAssembly.Memory;
  malloc(bytes: number): number;
  free(ptr: number): void;
  tjInitDecompress(): number;
  tjDecompressHeader3(
    h: number,
    buf: number,
    size: number,
    w: number,
    ht: number,
    ss: number,
    cs: number,
  ): number;
  tjDecompress2(
    h: number,
    buf: number,
    size: number,
    dst: number,
    width: number,
    pitch: number,
    height: number,
    pixelFormat: number,
    flags: number,
  ): number;
  tjDestroy(h: number): number;
}

/** TJPF_RGB: 3 bytes per pixel, R G B; TJPF_CMYK: 4 bytes, C M Y K as stored. */
const TJPF_RGB = 0;
const TJPF_CMYK = 11;
/** TJCS_CMYK and TJCS_YCCK (tjDecompressHeader3's colour space): libjpeg converts them only to CMYK. */
const TJCS_CMYK = 3;
const TJCS_YCCK = 4;

class LibjpegError extends Error {}

function instantiate(): TurboJpeg {
  const fail = (what: string) => () => {
    throw new LibjpegError(what);
  };
  const imports = {
    // libjpeg reports errors by longjmp to the setjmp of the call: setjmp returns 0, the longjmp throws
    env: { setjmp: () => 0, longjmp: fail("the data is corrupt") },
    // the library's stdio is never reached on the decode path; any call is an error, not a silent no-op
    wasi_snapshot_preview1: {
      environ_sizes_get: () => 0,
      environ_get: fail("environ_get"),
      proc_exit: fail("proc_exit"),
      fd_close: fail("fd_close"),
      fd_seek: fail("fd_seek"),
      fd_write: fail("fd_write"),
    },
  };
  return new WebAssembly.Instance(turboModule, imports).exports as unknown as TurboJpeg;
}

/** The size of one side decoded at scale m/8: libjpeg rounds up (TJSCALED). */
export function scaledSide(side: number, m: number): number {
  return Math.ceil((side * m) / 8);
}

/**
 * The DCT scale m (output m/8 of the JPEG's size) for a `width` x `height` JPEG that preprocessing will
 * letterbox into `target` x `target`: the smallest m whose output is at least the fitted size on both
 * sides, so preprocessing still only shrinks (area averaging); 8 (full size) when the JPEG is not larger.
 */
export function jpegScale(width: number, height: number, target: number): number {
  const long = Math.max(width, height);
  const fitW = Math.ceil((width * target) / long);
  const fitH = Math.ceil((height * target) / long);
  for (let m = 1; m < 8; m++) if (scaledSide(width, m) >= fitW && scaledSide(height, m) >= fitH) return m;
  return 8;
}

/**
 * CMYK as a JPEG stores it (Adobe's inverted form, which libjpeg hands over as is) -> RGB: with c, k the
 * stored values, R = c k / 255 (the same as 255 - (C (1 - K/255) + K) on the true C = 255 - c, K = 255 - k).
 */
function cmykToRgb(px: Uint8Array): Uint8Array {
  const n = px.length / 4;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const k = px[i * 4 + 3];
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round((px[i * 4 + c] * k) / 255);
  }
  return rgb;
}

/** What a decode produced, with the scale it ran at. */
export interface DecodedJpeg extends ImageInput {
  /** The DCT scale: the output is scale/8 of the JPEG's size on each side. */
  scale: number;
}

/**
 * Decodes a JPEG whose header passed the size limits, at the scale `jpegScale` picks for `target` (omit it
 * for full size). Throws ImageHeaderError (corrupt) on data libjpeg cannot decode.
 */
export function decodeJpeg(bytes: Uint8Array, target?: number): DecodedJpeg {
  const x = instantiate();
  try {
    const src = x.malloc(bytes.length);
    const meta = x.malloc(16);
    const handle = x.tjInitDecompress();
    if (!src || !meta || !handle) throw new LibjpegError("out of memory");
    new Uint8Array(x.memory.buffer, src, bytes.length).set(bytes);
    if (x.tjDecompressHeader3(handle, src, bytes.length, meta, meta + 4, meta + 8, meta + 12) !== 0)
      throw new LibjpegError("unreadable header");
    const [w, h, , colorspace] = new Int32Array(x.memory.buffer, meta, 4);
    const cmyk = colorspace === TJCS_CMYK || colorspace === TJCS_YCCK;
    const bpp = cmyk ? 4 : 3;
    const scale = target === undefined ? 8 : jpegScale(w, h, target);
    const width = scaledSide(w, scale);
    const height = scaledSide(h, scale);
    const dst = x.malloc(width * height * bpp);
    if (!dst) throw new LibjpegError("out of memory");
    // asked for exactly the scaled size, TurboJPEG picks the factor m/8 that yields it. A nonzero return
    // without an error exit is a warning (a truncated scan, stray bytes): the image stands, as jpeg-js's
    // tolerant decoding has it
    x.tjDecompress2(handle, src, bytes.length, dst, width, 0, height, cmyk ? TJPF_CMYK : TJPF_RGB, 0);
    const out = new Uint8Array(x.memory.buffer, dst, width * height * bpp);
    return { data: cmyk ? cmykToRgb(out) : out.slice(), width, height, channels: 3, scale };
  } catch (err) {
    if (err instanceof LibjpegError || err instanceof WebAssembly.RuntimeError)
      throw new ImageHeaderError(`JPEG: ${err.message}`, "corrupt");
    throw err;
  }
}
