// Dense labels for the vision tower's auxiliary loss in training: for every 8x8 patch of a scene, which
// object (as a colour x shape class) covers it. A from-scratch ViT gets a signal per patch instead of one
// per answer, which is what lets atp-tiny learn to look within a CPU-hour (training/README.md). The labels
// come from the same scene and rasteriser as the pixels, so the generator stays the one source of truth.
import { NUM_IMAGE_TOKENS as NUM_PATCHES, PATCH_SIZE as PATCH } from "./prompt";
import { insideShape } from "./render";
import { IMAGE_SIZE, type Scene } from "./scene";
import { SHAPES } from "./vocab";

export { NUM_PATCHES };
/** An object labels a patch when it covers at least this many of the patch's 64 pixels. */
const MIN_COVER = 12;

/** Label of each patch of `scene`, row-major [144], written into `out` at `offset`. */
export function patchLabels(scene: Scene, out = new Uint8Array(NUM_PATCHES), offset = 0): Uint8Array {
  const side = IMAGE_SIZE / PATCH;
  const cover = new Int32Array(scene.objects.length);
  for (let py = 0; py < side; py++) {
    for (let px = 0; px < side; px++) {
      cover.fill(0);
      scene.objects.forEach((o, i) => {
        const cx = 2 * o.x0 + o.size;
        const cy = 2 * o.y0 + o.size;
        for (let y = py * PATCH; y < (py + 1) * PATCH; y++) {
          if (y < o.y0 || y >= o.y0 + o.size) continue;
          for (let x = px * PATCH; x < (px + 1) * PATCH; x++) {
            if (x < o.x0 || x >= o.x0 + o.size) continue;
            if (insideShape(o.shape, 2 * x + 1 - cx, 2 * y + 1 - cy, o.size)) cover[i]++;
          }
        }
      });
      let best = -1;
      for (let i = 0; i < cover.length; i++)
        if (cover[i] >= MIN_COVER && (best < 0 || cover[i] > cover[best])) best = i;
      const o = best >= 0 ? scene.objects[best] : null;
      out[offset + py * side + px] = o ? 1 + o.colour * SHAPES.length + SHAPES.indexOf(o.shape) : 0;
    }
  }
  return out;
}
