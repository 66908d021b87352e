"""Scoring ShapesVQA answers (docs/data.md): exact match per family; captions also by per-object F1.

Also the greedy evaluation loop shared by train.py (val subset) and eval.py (full test split).
"""

import contextlib
import json
from collections import Counter, defaultdict
from typing import Dict, List, Optional

import torch

import precision
from data import FAMILIES, Split
from prefix import greedy_answers


def load_id_to_token(tokenizer_path: str) -> Dict[int, str]:
    with open(tokenizer_path) as f:
        tok = json.load(f)
    m = {v: k for k, v in tok["model"]["vocab"].items()}
    m.update({t["id"]: t["content"] for t in tok.get("added_tokens", [])})
    return m


def caption_objects(text: str) -> Counter:
    """'red square , blue circle' (or 'red square, blue circle') -> multiset of objects."""
    return Counter(" ".join(p.split()) for p in text.split(",") if p.strip())


def object_f1(pred: str, gold: str) -> float:
    p, g = caption_objects(pred), caption_objects(gold)
    if not p and not g:
        return 1.0
    tp = sum((p & g).values())
    if tp == 0:
        return 0.0
    prec, rec = tp / sum(p.values()), tp / sum(g.values())
    return 2 * prec * rec / (prec + rec)


def norm_answer(text: str) -> str:
    return " ".join(text.replace(",", " , ").split())


def score(records: List[dict]) -> dict:
    """records: {family, pred, gold} (strings) -> {family: acc, ..., caption_f1, mean, n}."""
    hit, n, f1 = defaultdict(float), defaultdict(int), []
    for r in records:
        fam = r["family"]
        n[fam] += 1
        hit[fam] += float(norm_answer(r["pred"]) == norm_answer(r["gold"]))
        if fam == "caption":
            f1.append(object_f1(r["pred"], r["gold"]))
    out = {fam: round(hit[fam] / n[fam], 4) for fam in FAMILIES if n[fam]}
    out["mean"] = round(sum(out[f] for f in FAMILIES if f in out) / max(1, len([f for f in FAMILIES if f in out])), 4)
    if f1:
        out["caption_f1"] = round(sum(f1) / len(f1), 4)
    out["n"] = sum(n.values())
    return out


@torch.no_grad()
def evaluate(model, split: Split, id2tok: Dict[int, str], question_ids: Optional[List[int]] = None,
             images_per_batch: int = 32, drop_image: bool = False, device="cpu", autocast=True) -> List[dict]:
    """Greedy answers for the given questions (default: all), grouped by image. drop_image=True removes
    every visual token from the sequence (the 'no image' control): the prompt is <bos> question <sep>."""
    model.eval()
    qids = list(range(len(split.questions))) if question_ids is None else question_ids
    by_image = defaultdict(list)
    for qi in qids:
        by_image[split.questions[qi]["image"]].append(qi)
    images = sorted(by_image)
    records = []
    for b in range(0, len(images), images_per_batch):
        ims = images[b: b + images_per_batch]
        idx, qs, metas = [], [], []
        for j, im in enumerate(ims):
            for qi in by_image[im]:
                idx.append(j)
                qs.append(split.questions[qi]["q_ids"])
                metas.append(split.questions[qi])
        px = model.pixels_from_u8(split.pixels_u8(ims)).to(device)
        with precision.autocast(str(device)) if autocast else contextlib.nullcontext():
            answers = greedy_answers(model, px, torch.tensor(idx, device=device), qs, drop_image=drop_image)
        for q, a in zip(metas, answers):
            pred = " ".join(id2tok.get(t, "<unk>") for t in a)
            records.append({"family": q["family"], "pred": pred, "gold": q["answer"], "question": q["question"]})
    model.train()
    return records


def balanced_subset(split: Split, per_family: int) -> List[int]:
    """The first `per_family` questions of each family (deterministic)."""
    seen, out = Counter(), []
    for i, q in enumerate(split.questions):
        if seen[q["family"]] < per_family:
            seen[q["family"]] += 1
            out.append(i)
    return out
