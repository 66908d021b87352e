"""What the vision tower sees: the training-only patch-label head (train.py PatchHead) on val images,
scored per patch: background, and on object patches the colour and the shape of the object under it.

  /usr/bin/python3 probe.py runs/atp-tiny-10/ckpt.pt [--images 200]

Shape per patch is what limited the model (training/README.md): its accuracy tracked the shape and colour
families (colour questions select an object by its shape) while colour per patch was ~99% from the start.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

from data import Split
from export import load_model
from train import PatchHead

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("--data", default=os.path.join(HERE, "..", "data"))
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    ck = torch.load(a.ckpt, map_location="cpu")
    if not ck.get("aux_head"):
        sys.exit(f"{a.ckpt} has no patch-label head (trained with --aux-weight 0?)")
    model = load_model(a.ckpt, ck)
    head_w = ck["aux_head"]["proj.weight"]
    head = PatchHead(head_w.shape[1], head_w.shape[0])
    head.load_state_dict(ck["aux_head"])
    val = Split(os.path.join(a.data, "val"))
    ids = val.image_ids[: a.images]
    out = {}
    with torch.no_grad():
        model.image_features(model.pixels_from_u8(val.pixels_u8(ids)), out=out)
        pred = head(out["vision.encoder_out"]).argmax(-1).numpy()
    labels = val.patches[np.asarray(ids)].astype(np.int64)
    obj = labels > 0
    with open(os.path.join(a.data, "config.json")) as f:
        n_shapes = json.load(f)["num_patch_shapes"]  # class = 1 + colour * n_shapes + shape (0: background)
    colour_ok = ((pred - 1) // n_shapes == (labels - 1) // n_shapes) & (pred > 0)
    shape_ok = ((pred - 1) % n_shapes == (labels - 1) % n_shapes) & (pred > 0)
    print(f"{a.ckpt} (step {ck.get('step')}): {len(ids)} val images, {int(obj.sum())} object patches")
    print(f"background patches correct {100 * (pred[~obj] == 0).mean():.1f}%; object patches: "
          f"colour {100 * colour_ok[obj].mean():.1f}%, shape {100 * shape_ok[obj].mean():.1f}%, "
          f"both {100 * (pred[obj] == labels[obj]).mean():.1f}%")


if __name__ == "__main__":
    main()
