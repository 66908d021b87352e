// The LLaVA-1.5 projector, as training/model.py's LlavaMultiModalProjector: linear_2(gelu(linear_1(x))),
// mapping the vision feature [Nv, Dv] into the LLM's width [Nv, Dt] (the visual tokens).
import type { Ptr } from "../kernels";
import { trace, type Engine } from "../engine/context";

/** feature [n, Dv] -> visual tokens [n, Dt] at b.visual (returned); n defaults to all patches. */
export function projectorForward(e: Engine, feature: Ptr, n = e.cfg.imageSeqLength): Ptr {
  const { ops, w, b } = e;
  const Dt = e.cfg.text.hidden;
  ops.linear(feature, w.linear("projector.fc1.weight"), w.maybe("projector.fc1.bias"), b.pmid, n); // (Nv, Dt)
  ops.gelu(b.pmid, b.pmid, n * Dt);
  ops.linear(b.pmid, w.linear("projector.fc2.weight"), w.maybe("projector.fc2.bias"), b.visual, n);
  trace(e, "projector_out", b.visual, [n, Dt]);
  return b.visual;
}
