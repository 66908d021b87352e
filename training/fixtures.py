"""Golden fixtures for the TypeScript/Wasm port: inputs, named intermediates and greedy answers in f32.

Called by export.py. Picks 6 test questions on 3 images (two per image, families mixed, caption included)
and writes, under test/fixtures/atp-tiny/:
  index.json                       what every file is (shape, dtype, row offset), the questions and answers
  img{i}.pixels.u8                 (96, 96, 3) u8 RGB, as in data/test.images.u8
  img{i}.{vision.patch_embeds, vision.encoder_out, projector_out}.f32       (144, C) per image
  q{j}.llm.hidden.{0,L-1}.f32      hidden states after LLM layer 0 and the last layer, rows [row_offset, T)
                                   (q0: every row; others: the text rows after the 145-token prefix)
  q{j}.logits_last.f32             (V,) logits of the prompt's last position (<sep>)
  q0.llm.attn.1.head_mean.f32      (T, T) head-averaged attention probabilities of LLM layer 1 (for ATP)
All .f32 files are little-endian f32, row-major, no header. Computed in f32 (no autocast).
"""

import json
import os
from typing import List

import numpy as np
import torch

from data import Split
from metrics import load_id_to_token
from prefix import greedy_answers

WANTED = ["caption", "count", "relation", "colour", "position", "exist", "shape"]


def pick_questions(split: Split, n_images: int = 3, per_image: int = 2) -> List[int]:
    """Deterministic: walk images in order, take an image if it offers families not yet covered."""
    covered, picked = set(), []
    for im in split.image_ids:
        fams = {split.questions[qi]["family"]: qi for qi in split.by_image[im]}
        new = [f for f in WANTED if f in fams and f not in covered]
        if len(new) >= per_image:
            for f in new[:per_image]:
                covered.add(f)
                picked.append(fams[f])
        if len(picked) >= n_images * per_image:
            break
    return picked


def _write(dirpath: str, name: str, t: torch.Tensor) -> dict:
    a = np.ascontiguousarray(t.detach().float().numpy()).astype("<f4")
    with open(os.path.join(dirpath, name), "wb") as f:
        f.write(a.tobytes())
    return {"file": name, "dtype": "f32", "shape": list(a.shape)}


@torch.no_grad()
def write_fixtures(model, data_dir: str, out_dir: str):
    split = Split(os.path.join(data_dir, "test"))  # inputs first: a missing one leaves the old fixtures in place
    id2tok = load_id_to_token(os.path.join(data_dir, "tokenizer.json"))
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):  # regenerate from scratch: stale files would mislead
        if f.endswith((".f32", ".u8", ".json")):
            os.remove(os.path.join(out_dir, f))
    c = model.config
    qids = pick_questions(split)
    images = sorted({split.questions[q]["image"] for q in qids})
    L = c.text_config.num_hidden_layers
    index = {"model": "atp-tiny", "step": getattr(model, "ckpt_step", None), "config": c.to_dict(),
             "prompt": "<bos> <image>*144 {q_ids} <sep>; logits_last predicts the first answer token",
             "format": ".f32 = little-endian f32 row-major, .u8 = raw bytes; shapes in this file",
             "images": [], "questions": []}
    for i, im in enumerate(images):
        u8 = split.pixels_u8([im])  # (1, 96, 96, 3)
        with open(os.path.join(out_dir, f"img{i}.pixels.u8"), "wb") as f:
            f.write(u8.numpy().tobytes())
        out = {}
        model.image_features(model.pixels_from_u8(u8), out)
        entry = {"test_image": im, "pixels": {"file": f"img{i}.pixels.u8", "dtype": "u8", "shape": [96, 96, 3]},
                 "tensors": {}}
        for name in ["vision.patch_embeds", "vision.encoder_out", "projector_out"]:
            entry["tensors"][name] = _write(out_dir, f"img{i}.{name}.f32", out[name][0])
        index["images"].append(entry)
    for j, qi in enumerate(qids):
        q = split.questions[qi]
        i = images.index(q["image"])
        ids = [c.bos_token_id] + [c.image_token_index] * c.image_seq_length + q["q_ids"] + [c.sep_token_id]
        px = model.pixels_from_u8(split.pixels_u8([q["image"]]))
        out = {}
        logits, attn = model(px, torch.tensor([ids]), out, output_attentions=True)
        T = len(ids)
        row0 = 0 if j == 0 else 1 + c.image_seq_length
        entry = {"test_question": qi, "image": i, "family": q["family"], "question": q["question"],
                 "gold": q["answer"], "input_ids": ids, "tensors": {}}
        for layer in [0, L - 1]:
            name = f"llm.hidden.{layer}"
            entry["tensors"][name] = dict(_write(out_dir, f"q{j}.{name}.f32", out[name][0, row0:T]), row_offset=row0)
        entry["tensors"]["logits_last"] = _write(out_dir, f"q{j}.logits_last.f32", logits[0, -1])
        if j == 0:
            entry["tensors"]["llm.attn.1.head_mean"] = _write(out_dir, "q0.llm.attn.1.head_mean.f32",
                                                              attn[1][0].mean(0))
        ans = greedy_answers(model, px, torch.tensor([0]), [q["q_ids"]])[0]
        entry["greedy_ids"] = ans + [c.eos_token_id]
        entry["greedy_text"] = " ".join(id2tok[t] for t in ans)
        index["questions"].append(entry)
    with open(os.path.join(out_dir, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    total = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    print(f"wrote {out_dir}: {len(qids)} questions on {len(images)} images, {total} bytes")
    for e in index["questions"]:
        print(f"  [{e['family']}] {e['question']} -> {e['greedy_text']!r} (gold {e['gold']!r})")
