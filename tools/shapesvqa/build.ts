// Writes a ShapesVQA split in the trainer's format (docs/data.md): PREFIX.images.u8 (raw uint8 RGB
// [num_images, 96, 96, 3]), PREFIX.patches.u8 (uint8 [num_images, 144] patch labels, patches.ts),
// PREFIX.jsonl (one question per line) and PREFIX.meta.json (counts, written
// last, so its presence marks a complete split). Streams in chunks with synchronous writes.
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { generateSplit, splitSpec, type SplitSpec } from "./dataset";
import { NUM_PATCHES, patchLabels } from "./patches";
import { IMAGE_BYTES, renderScene } from "./render";
import { IMAGE_SIZE } from "./scene";
import { Encoder } from "./tokenizer";
import { EOS_ID, FAMILIES, type Family } from "./vocab";

/** Images rendered per write (7 MB of pixels). */
const CHUNK_IMAGES = 256;

/** One line of PREFIX.jsonl, keys in contract order. */
export interface QuestionRecord {
  image: number;
  family: Family;
  question: string;
  answer: string;
  q_ids: number[];
  a_ids: number[];
  n_objects: number;
}

/** Contents of PREFIX.meta.json. */
export interface SplitMeta extends SplitSpec {
  num_images: number;
  num_questions: number;
  image_shape: [number, number, number];
  families: Record<Family, number>;
}

/** Generates `spec` and writes it under `prefix`; returns the metadata it wrote. */
export function buildSplit(spec: SplitSpec, prefix: string, enc: Encoder = new Encoder()): SplitMeta {
  mkdirSync(dirname(prefix), { recursive: true });
  const imgFd = openSync(`${prefix}.images.u8`, "w");
  const pFd = openSync(`${prefix}.patches.u8`, "w");
  const qFd = openSync(`${prefix}.jsonl`, "w");
  const pixels = new Uint8Array(CHUNK_IMAGES * IMAGE_BYTES);
  const patches = new Uint8Array(CHUNK_IMAGES * NUM_PATCHES);
  const families = Object.fromEntries(FAMILIES.map((f) => [f, 0])) as Record<Family, number>;
  let lines: string[] = [];
  let inChunk = 0;
  let images = 0;
  let questions = 0;
  const flush = () => {
    writeSync(imgFd, pixels, 0, inChunk * IMAGE_BYTES);
    writeSync(pFd, patches, 0, inChunk * NUM_PATCHES);
    writeSync(qFd, lines.join(""));
    lines = [];
    inChunk = 0;
  };
  try {
    for (const img of generateSplit(spec)) {
      renderScene(img.scene, pixels, inChunk * IMAGE_BYTES);
      patchLabels(img.scene, patches, inChunk * NUM_PATCHES);
      for (const qa of img.qas) {
        const rec: QuestionRecord = {
          image: img.index,
          family: qa.family,
          question: qa.question,
          answer: qa.answer,
          q_ids: [...enc.encode(qa.question)],
          a_ids: [...enc.encode(qa.answer), EOS_ID],
          n_objects: img.scene.objects.length,
        };
        lines.push(JSON.stringify(rec) + "\n");
        families[qa.family]++;
        questions++;
      }
      images++;
      if (++inChunk === CHUNK_IMAGES) flush();
    }
    flush();
  } finally {
    closeSync(imgFd);
    closeSync(pFd);
    closeSync(qFd);
  }
  const meta: SplitMeta = {
    ...spec,
    num_images: images,
    num_questions: questions,
    image_shape: [IMAGE_SIZE, IMAGE_SIZE, 3],
    families,
  };
  writeFileSync(`${prefix}.meta.json`, JSON.stringify(meta, null, 2) + "\n");
  return meta;
}

/** Lists PREFIX's files in READY beside them (the trainer reads only the splits READY lists). */
export function markReady(prefix: string): void {
  const ready = join(dirname(prefix), "READY");
  const listed = existsSync(ready) ? readFileSync(ready, "utf8").split("\n") : [];
  const files = ["images.u8", "patches.u8", "jsonl", "meta.json"].map((ext) => `${basename(prefix)}.${ext}`);
  const missing = files.filter((f) => !listed.includes(f));
  if (missing.length > 0) appendFileSync(ready, missing.join("\n") + "\n");
}

/** Builds the fixed split `split` (val or test) at PREFIX unless its meta.json (written last) exists. */
export function ensureSplit(split: "val" | "test", prefix: string): void {
  if (existsSync(`${prefix}.meta.json`)) return;
  buildSplit(splitSpec(split), prefix);
  markReady(prefix);
}
