// The model benchmark inside workerd: POST / with the weight files and the input image packed by
// packFiles (tools/bench/model-workerd.ts sends them; a Worker would read them from R2) runs
// model-core.ts on both kernel builds, imported as compiled modules as the product Worker does.
// Local workerd lets performance.now() advance freely (in production it only moves at I/O).
import { KERNEL_MODULES } from "../../worker/kernels";
import { benchModel } from "./model-core";

/** Body layout: u32 LE header length, JSON header [{key, bytes}], then the files back to back. */
export function unpackFiles(body: Uint8Array): Map<string, Uint8Array> {
  const len = new DataView(body.buffer, body.byteOffset).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(body.subarray(4, 4 + len))) as {
    key: string;
    bytes: number;
  }[];
  const files = new Map<string, Uint8Array>();
  let p = 4 + len;
  for (const h of header) {
    files.set(h.key, body.slice(p, p + h.bytes));
    p += h.bytes;
  }
  return files;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const files = unpackFiles(new Uint8Array(await request.arrayBuffer()));
    const image = files.get("__image.rgb")!;
    files.delete("__image.rgb");
    try {
      const figures = await benchModel({
        files,
        image: {
          data: image,
          width: Number(url.searchParams.get("width")),
          height: Number(url.searchParams.get("height")),
        },
        builds: Object.entries(KERNEL_MODULES).map(([name, module]) => ({ name, module })),
        runs: Number(url.searchParams.get("runs") ?? "5"),
        tokens: Number(url.searchParams.get("tokens") ?? "24"),
        precision: url.searchParams.get("precision") === "f32" ? "f32" : "int8",
      });
      return Response.json({ figures });
    } catch (err) {
      return new Response((err as Error).message, { status: 500 });
    }
  },
};
