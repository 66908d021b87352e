"""Is the model looking at the image yet? Answer NLL per family with the true image vs another image.

  cd training && /usr/bin/python3 grounding.py runs/atp-tiny-3/ckpt.pt [--max-objects 2] [--images 120]

Teacher-forced negative log-likelihood of each answer (+ <eos>), summed over its tokens and averaged per
family, on val images with at most --max-objects objects: once with each question's own image and once
with the image of the next question group (a wrong image). While the LLM ignores the visual tokens the two
columns are equal; a gap opens long before greedy accuracy leaves the prior (seen on atp-tiny-2: colour
2.01 vs 2.24 nats at step 262, when val accuracy was still at the prior). Forward only, ~15 s on 2 cores.
"""

import argparse
import os
from collections import defaultdict

import torch
import torch.nn.functional as F

from data import Split, make_batch
from export import load_model
from precision import autocast
from prefix import prefix_len, run_prefix, run_suffix

HERE = os.path.dirname(os.path.abspath(__file__))


@torch.no_grad()
def grounding_gap(model, split: Split, image_ids, batch: int = 40):
    """-> {family: (nll_true_image, nll_wrong_image, n_questions)}."""
    c = model.config
    tot = defaultdict(lambda: [0.0, 0.0, 0])
    for s in range(0, len(image_ids), batch):
        ims = image_ids[s: s + batch]
        b = make_batch(split, ims, c.sep_token_id, c.pad_token_id, prefix_len(model))
        with autocast("cpu"):
            past = run_prefix(model, model.pixels_from_u8(b["pixels_u8"]))
            for k, idx in [(0, b["img_index"]), (1, (b["img_index"] + 1) % len(ims))]:
                logits, _ = run_suffix(model, past, idx, b["ids"], b["valid"], b["pos"])
                nll = F.cross_entropy(logits.float().transpose(1, 2), b["labels"], reduction="none").sum(1)  # (B,)
                qs = [qi for im in ims for qi in split.by_image[im]]
                for qi, v in zip(qs, nll.tolist()):
                    f = split.questions[qi]["family"]
                    tot[f][k] += v
                    tot[f][2] += k == 0
    return {f: (a / n, w / n, n) for f, (a, w, n) in tot.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("--data", default=os.path.join(HERE, "..", "data"))
    ap.add_argument("--max-objects", type=int, default=2)
    ap.add_argument("--images", type=int, default=120)
    a = ap.parse_args()
    torch.set_num_threads(2)
    model = load_model(a.ckpt)
    split = Split(os.path.join(a.data, "val"))
    ims = [i for i in split.image_ids if split.n_objects(i) <= a.max_objects][: a.images]
    print(f"step {model.ckpt_step}: answer NLL (nats), val images with <= {a.max_objects} objects")
    print(f"  {'family':9s} {'true img':>9s} {'wrong img':>9s} {'gap':>7s}  n")
    for f, (t, w, n) in sorted(grounding_gap(model, split, ims).items()):
        print(f"  {f:9s} {t:9.3f} {w:9.3f} {w - t:7.3f}  {n}")


if __name__ == "__main__":
    main()
