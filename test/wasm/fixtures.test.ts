/// <reference types="vite/client" />
// Parity with the PyTorch reference on the golden fixtures of atp-tiny (training/fixtures.py writes
// test/fixtures/atp-tiny/: pixels, named intermediates, last-position logits, layer-1 head-mean attention
// and greedy answers, all computed in f32 with the f32 weights).
//  - f32 path: weights from out/atp-tiny/model.safetensors kept in f32 (training/export.py writes it),
//    every fixture tensor within budget, logits within F32_LOGITS_BUDGET.
//  - int8 path: the converted weights/ (q8) give last-position logits within INT8_LOGITS_BUDGET of the
//    reference's, and its greedy answer wherever the reference's top-2 margin exceeds twice the error.
//  - ATP (when training/export_atp.py wrote atp.json): the engine's `atp` policy keeps the tokens the
//    reference's hard decisions keep, per module: exactly up to ties at the threshold on the f32 path,
//    and nearly on the int8 weights (ATP_INT8_*).
// Each part is skipped, saying why, while its inputs do not exist yet.
import { describe, expect, it } from "vitest";
import {
  loadModel,
  MemorySource,
  type CapturedAttention,
  type LayerView,
  type Model,
  type PruningPolicy,
} from "../../wasm/index";
import { AtpPolicy, sapScores } from "../../wasm/pruning/atp";
import { BUILDS } from "../helpers/kernels";
import { baseName, dataUrlBytes, f32Of, f32WeightFiles } from "./helpers/files";

/** The budget: max |logit difference| of the f32 path vs PyTorch f32. */
const F32_LOGITS_BUDGET = 1e-3;
/**
 * Intermediates, relative to the tensor's largest |value|: f32 rounding in a different summation order
 * (SIMD lanes vs PyTorch's BLAS) and exp/erf approximations (~1.5e-7), through up to 12 layers: 1e-4.
 */
const F32_ACTIVATION_BUDGET = 1e-4;
/** Head-averaged attention probabilities (values in [0, 1]), absolute. */
const F32_PROBS_BUDGET = 1e-5;
/**
 * int8 path (q8 weights, 7-bit activations): max |last-position logit difference| vs PyTorch f32,
 * relative to the largest |logit| (measured: 3.4% at worst on atp-tiny). Where the reference's top two
 * logits are closer than twice the measured difference, either may win.
 */
const INT8_LOGITS_BUDGET = 0.05;
/** f32 ATP: |threshold difference| (t_r is a log-score) and the share of tokens allowed to flip. */
const ATP_F32_THRESHOLD_BUDGET = 1e-3;
/**
 * f32 ATP after a merging module (atp.merge): each dropped token merges into its most similar kept one,
 * and background tokens differ mostly by their position embedding, so candidates sit within f32 rounding
 * of each other; PyTorch's f32 matmul and the engine's f64 sums break such near-ties differently, which
 * moves a few sizes and so the later modules' score statistics (gaps up to 0.09 on atp-stage2u's
 * fixtures, the kept sets equal). Those modules are held to this looser bound; the first module to the
 * tight one.
 */
const ATP_F32_MERGED_THRESHOLD_BUDGET = 0.2;
/**
 * Each module's kept set against the reference's, the grid tokens of a SAP level lying between the two
 * spatial thresholds left out: where the reference's theta_s sits on a level (the soup of 7 Dec: 0.6672
 * against the stride-3 level 0.6667), a threshold moved within the merged budget adds or drops that whole
 * sub-grid, and only its tokens may differ.
 */
const ATP_F32_MIN_JACCARD = 0.98;
/**
 * int8 ATP: 7-bit activations move the attention scores a little, so tokens whose log-score sits near the
 * threshold may flip: the kept sets must agree on the whole (intersection / union over every module of
 * every question), and each module's set nearly: Jaccard >= ATP_INT8_MIN_JACCARD, or at most
 * ATP_INT8_MAX_FLIPS of the 144 visual tokens decided otherwise (the last module keeps only 8-14 tokens,
 * where 4 flipped near-threshold tokens already give 9/14 = 0.64).
 */
const ATP_INT8_JACCARD = 0.9;
const ATP_INT8_MIN_JACCARD = 0.7;
const ATP_INT8_MAX_FLIPS = 5;
/**
 * SAP keeps whole sub-grids: when the reference's theta_s sits within this of a grid's score
 * (1 - lambda / stride^2), int8's slightly different theta_s keeps or drops that grid's 9-36 tokens at
 * once, and the masks multiply, so every later module of that question inherits the flip. Such a module
 * and the ones after it are a near-tie (reported in the detail), not held to the per-module bound; the
 * whole-set bound above still counts them.
 */
const SAP_TIE = 2e-3;

const FIX = import.meta.glob("../fixtures/atp-tiny/*.{f32,u8}", {
  query: "?inline",
  import: "default",
  eager: true,
}) as Record<string, string>;
const INDEX = import.meta.glob("../fixtures/atp-tiny/index.json", {
  import: "default",
  eager: true,
}) as Record<string, FixtureIndex>;
const WEIGHT_BINS = import.meta.glob("../../weights/*.bin", { query: "?inline", import: "default" }) as Lazy;
const WEIGHT_JSON = import.meta.glob("../../weights/*.json", {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;
// Lazy: each large file is its own module, loaded only by the test that needs it.
const CKPT = import.meta.glob("../../out/atp-tiny/model.safetensors", {
  query: "?inline",
  import: "default",
}) as Lazy;
const CKPT_JSON = import.meta.glob("../../out/atp-tiny/{config,tokenizer}.json", {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;

const ATP_FIXTURE = Object.values(
  import.meta.glob("../fixtures/atp-tiny/atp.json", { import: "default", eager: true }),
)[0] as AtpFixture | undefined;

type Lazy = Record<string, () => Promise<string>>;
/**
 * The f32 part needs the 17 MB f32 checkpoint as a module, over the 32 MB message limit of the workerd
 * test runner once base64-encoded: it runs in Node only (the code path is the same in both runtimes; the
 * kernels and the tiny-model parity run in both).
 */
const IN_WORKERD = typeof navigator !== "undefined" && navigator.userAgent === "Cloudflare-Workers";

/** Resolves lazy imports into file name -> bytes. */
async function loadAll(glob: Lazy): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const [k, load] of Object.entries(glob)) out.set(baseName(k), dataUrlBytes(await load()));
  return out;
}

interface TensorRef {
  file: string;
  shape: number[];
  row_offset?: number;
}
interface FixtureIndex {
  images: { pixels: { file: string }; tensors: Record<string, TensorRef> }[];
  questions: {
    image: number;
    family: string;
    input_ids: number[];
    greedy_ids: number[];
    tensors: Record<string, TensorRef>;
  }[];
}

interface AtpFixture {
  /** training/atp.py ATPConfig as the reference ran (merge absent before merging was trained). */
  config: { merge?: boolean; input?: boolean };
  questions: {
    fixture_image: number;
    family: string;
    q_ids: number[];
    modules: { t_r: number; theta_s: number; kept: number[] }[];
  }[];
}

const index = Object.values(INDEX)[0];
const fixture = (name: string) => {
  const url = Object.entries(FIX).find(([k]) => baseName(k) === name)?.[1];
  if (!url) throw new Error(`fixture file ${name} missing`);
  return dataUrlBytes(url);
};
const byName = (glob: Record<string, string>, decode: (v: string) => Uint8Array) =>
  new Map(Object.entries(glob).map(([k, v]) => [baseName(k), decode(v)]));

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let diff = 0;
  let scale = 1e-30;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / scale;
}
function absErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let diff = 0;
  for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(got[i] - want[i]));
  return diff;
}

/** The model in f32 from the uncommitted f32 checkpoint (out/atp-tiny). */
async function f32Model(kernels: WebAssembly.Module): Promise<Model> {
  const st = [...(await loadAll(CKPT)).values()][0];
  const json = byName(CKPT_JSON, (v) => new TextEncoder().encode(v));
  const files = f32WeightFiles(st, json.get("config.json")!, json.get("tokenizer.json")!);
  return loadModel(new MemorySource(files), { kernels, precision: "f32" });
}

/** The shipped model: weights/ (q8). */
async function int8Model(kernels: WebAssembly.Module): Promise<Model> {
  const files = await loadAll(WEIGHT_BINS);
  for (const [k, v] of byName(WEIGHT_JSON, (s) => new TextEncoder().encode(s))) files.set(k, v);
  return loadModel(new MemorySource(files), { kernels });
}

/** Captures every row's attention at layer 1 (for the head-mean fixture); never prunes. */
class CaptureLayer1 implements PruningPolicy {
  readonly name = "capture";
  probs: Float32Array | null = null;
  captureRows(v: LayerView) {
    return v.layer === 1 ? Int32Array.from({ length: v.rows }, (_, i) => i) : null;
  }
  afterLayer(_v: LayerView, a: { probs: Float32Array } | null) {
    if (a) this.probs = a.probs;
    return null;
  }
}

/** The `atp` policy, recording the grid indices alive after each module. */
class RecordingAtp extends AtpPolicy {
  kept: number[][] = [];
  constructor() {
    // as the PyTorch reference ran: its config's atp.input (module 0 before layer 0) and atp.merge
    // (training/atp.py merge_dropped), absent = after layer 0, drop
    super({ input: ATP_FIXTURE?.config.input === true ? 1 : 0 });
    this.merge = ATP_FIXTURE?.config.merge === true;
  }
  override beforeFirstLayer(view: LayerView, attention: CapturedAttention | null): Int32Array | null {
    return this.record(super.beforeFirstLayer(view, attention));
  }
  override afterLayer(view: LayerView, attention: CapturedAttention | null): Int32Array | null {
    return this.record(super.afterLayer(view, attention));
  }
  private record(keep: Int32Array | null): Int32Array | null {
    if (keep) this.kept.push([...keep].sort((a, b) => a - b));
    return keep;
  }
}

/** [intersection, union] sizes. */
const overlap = (a: number[], b: number[]) => {
  const sa = new Set(a);
  const inter = b.filter((x) => sa.has(x)).length;
  return [inter, a.length + b.length - inter];
};

/** Runs every ATP fixture question; returns the worst Jaccard and threshold gap over modules. */
async function atpAgreement(model: Model) {
  const atp = model.config.atp!;
  const levels = atp.gridStrides.map((st) => 1 - atp.sapLambda / (st * st));
  const sap = sapScores(Math.round(Math.sqrt(model.config.imageSeqLength)), atp.gridStrides, atp.sapLambda);
  let minJaccard = 1;
  let worstModule = 1; // min over modules of max(Jaccard, 1 when at most ATP_INT8_MAX_FLIPS flipped)
  let maxThresholdGap = 0; // modules no merge came before
  let maxMergedGap = 0; // modules after a merging one
  const merging = ATP_FIXTURE!.config.merge === true;
  let inter = 0;
  let union = 0;
  const detail: string[] = [];
  for (const [j, q] of ATP_FIXTURE!.questions.entries()) {
    const policy = new RecordingAtp();
    await model.run(imageOf(q.fixture_image), q.q_ids, { maxTokens: 1, policy });
    expect(policy.kept.length, `q${j} modules`).toBe(q.modules.length);
    let tied = false;
    for (const [k, want] of q.modules.entries()) {
      tied ||= levels.some((l) => Math.abs(want.theta_s - l) < SAP_TIE);
      const [i, u] = overlap(policy.kept[k], want.kept);
      const jac = i / u;
      inter += i;
      union += u;
      const d = policy.decisions[k];
      const gap = Math.max(Math.abs(d.tR - want.t_r), Math.abs(d.thetaS - want.theta_s));
      // grid tokens whose SAP level lies between the two spatial thresholds (give or take SAP_TIE): the
      // spatial branch may decide them either way; every other token must be decided alike
      const lo = Math.min(d.thetaS, want.theta_s) - SAP_TIE;
      const hi = Math.max(d.thetaS, want.theta_s) + SAP_TIE;
      const straddled = (t: number) => sap[t] >= lo && sap[t] <= hi;
      const [io, uo] = overlap(
        policy.kept[k].filter((t) => !straddled(t)),
        want.kept.filter((t) => !straddled(t)),
      );
      const offTie = uo ? io / uo : 1;
      minJaccard = Math.min(minJaccard, offTie);
      const flips = u - i; // tokens kept by one side only
      if (!tied) worstModule = Math.min(worstModule, flips <= ATP_INT8_MAX_FLIPS ? 1 : jac);
      if (merging && k > 0) maxMergedGap = Math.max(maxMergedGap, gap);
      else maxThresholdGap = Math.max(maxThresholdGap, gap);
      detail.push(
        `q${j}.${k} ${policy.kept[k].length}/${want.kept.length} J=${jac.toFixed(3)} off-tie J=${offTie.toFixed(3)} gap=${gap.toPrecision(2)}${tied ? " (SAP tie)" : ""}`,
      );
    }
  }
  return {
    minJaccard,
    worstModule,
    jaccard: inter / union,
    maxThresholdGap,
    maxMergedGap,
    detail: detail.join(", "),
  };
}

const imageOf = (i: number) => ({ data: fixture(`img${i}.pixels.u8`), width: 96, height: 96 });
const questionIds = (ids: number[], nv: number) => ids.slice(1 + nv, -1); // strip <bos> <image>*Nv ... <sep>

describe.skipIf(!index)("atp-tiny golden fixtures", () => {
  for (const build of BUILDS) {
    it.skipIf(!Object.keys(CKPT).length || Object.keys(CKPT_JSON).length < 2 || IN_WORKERD)(
      `f32 path matches PyTorch f32 (${build.name})`,
      async () => {
        const model = await f32Model(build.module);
        const nv = model.config.imageSeqLength;
        for (const [j, q] of index.questions.entries()) {
          const traced = new Map<string, Float32Array>();
          const policy = new CaptureLayer1();
          await model.run(imageOf(q.image), questionIds(q.input_ids, nv), {
            maxTokens: 1,
            policy,
            trace: (n, d) => traced.set(n, d),
          });
          for (const [name, ref] of Object.entries(index.images[q.image].tensors)) {
            expect(relErr(traced.get(name)!, f32Of(fixture(ref.file))), `q${j} ${name}`).toBeLessThan(
              F32_ACTIVATION_BUDGET,
            );
          }
          for (const [name, ref] of Object.entries(q.tensors)) {
            const want = f32Of(fixture(ref.file));
            if (name === "logits_last") {
              const all = traced.get("logits")!;
              expect(absErr(all.subarray(all.length - want.length), want), `q${j} logits`).toBeLessThan(
                F32_LOGITS_BUDGET,
              );
            } else if (name.startsWith("llm.hidden.")) {
              const D = ref.shape[1];
              const got = traced.get(name)!.subarray((ref.row_offset ?? 0) * D);
              expect(relErr(got, want), `q${j} ${name}`).toBeLessThan(F32_ACTIVATION_BUDGET);
            } else if (name === "llm.attn.1.head_mean") {
              expect(absErr(policy.probs!, want), `q${j} ${name}`).toBeLessThan(F32_PROBS_BUDGET);
            }
          }
        }
      },
      30_000, // the f32 path over six questions: ~3-7 s on a 2-vCPU host, more when it is loaded
    );

    it.skipIf(!WEIGHT_JSON["../../weights/manifest.json"])(
      `int8 path: logits near the reference's, its greedy answer wherever the reference is not a near-tie (${build.name})`,
      async () => {
        const model = await int8Model(build.module);
        const nv = model.config.imageSeqLength;
        for (const [j, q] of index.questions.entries()) {
          let first: Float32Array | undefined;
          const done = await model.run(imageOf(q.image), questionIds(q.input_ids, nv), {
            maxTokens: 24,
            trace: (n, d) => {
              if (n === "logits" && !first) first = d.slice();
            },
          });
          const want = f32Of(fixture(q.tensors.logits_last.file));
          const got = first!.subarray(first!.length - want.length);
          expect(relErr(got, want), `q${j} logits`).toBeLessThan(INT8_LOGITS_BUDGET);
          const err = absErr(got, want);
          const sorted = [...want].sort((a, b) => b - a);
          if (sorted[0] - sorted[1] > 2 * err) {
            expect([...done.ids, model.config.eosId], `q${j} (${q.family})`).toEqual(q.greedy_ids);
          } else {
            // a near-tie: int8 may take the runner-up, never a token the reference ranks far below
            expect(sorted[0] - want[done.ids[0]], `q${j} (${q.family}) near-tie`).toBeLessThanOrEqual(
              2 * err,
            );
          }
        }
      },
    );

    it.skipIf(!ATP_FIXTURE || !Object.keys(CKPT).length || Object.keys(CKPT_JSON).length < 2 || IN_WORKERD)(
      `ATP keeps the reference's tokens on the f32 path (${build.name})`,
      async () => {
        const model = await f32Model(build.module);
        const r = await atpAgreement(model);
        expect(r.maxThresholdGap, r.detail).toBeLessThan(ATP_F32_THRESHOLD_BUDGET);
        expect(r.maxMergedGap, r.detail).toBeLessThan(ATP_F32_MERGED_THRESHOLD_BUDGET);
        expect(r.minJaccard, r.detail).toBeGreaterThanOrEqual(ATP_F32_MIN_JACCARD);
      },
    );

    it.skipIf(!ATP_FIXTURE || !WEIGHT_JSON["../../weights/manifest.json"])(
      `ATP on the int8 weights keeps nearly the reference's tokens (${build.name})`,
      async () => {
        const model = await int8Model(build.module);
        const r = await atpAgreement(model);
        expect(r.jaccard, r.detail).toBeGreaterThanOrEqual(ATP_INT8_JACCARD);
        expect(r.worstModule, r.detail).toBeGreaterThanOrEqual(ATP_INT8_MIN_JACCARD);
      },
    );
  }
});
