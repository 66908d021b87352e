"""Accuracy per family on `test`, with the two controls that prove the model looks at the image.

  cd training && /usr/bin/python3 eval.py --ckpt runs/atp-tiny-1/ckpt.pt [--split test] [--out FILE]

Prints (and writes to --out, default out/atp-tiny/eval.json) a JSON object:
  model      greedy decoding, exact match per family, caption object-F1, mean over families
  prior      the most frequent train answer per family, whatever the image (train-1..k of data/READY)
  no_image   the model with every visual token removed from the sequence (<bos> question <sep>)
"""

import argparse
import json
import os
import time
from collections import Counter, defaultdict

import torch

from data import Split, ready_train_files
from export import load_model
from metrics import evaluate, load_id_to_token, score

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def prior_answers(train_prefixes):
    counts = defaultdict(Counter)
    for p in train_prefixes:
        with open(p + ".jsonl") as f:
            for line in f:
                q = json.loads(line)
                counts[q["family"]][q["answer"]] += 1
    return {fam: c.most_common(1)[0][0] for fam, c in counts.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "runs", "atp-tiny-1", "ckpt.pt"))
    ap.add_argument("--data", default=os.path.join(ROOT, "data"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "atp-tiny", "eval.json"))
    ap.add_argument("--limit", type=int, default=0, help="only the first N questions (quick checks)")
    ap.add_argument("--no-autocast", action="store_true", help="decode in f32 instead of bf16 autocast")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = load_model(a.ckpt)
    split = Split(os.path.join(a.data, a.split))
    id2tok = load_id_to_token(os.path.join(a.data, "tokenizer.json"))
    qids = list(range(len(split.questions)))[: a.limit or None]
    t0 = time.time()
    recs = evaluate(model, split, id2tok, qids, autocast=not a.no_autocast)
    t1 = time.time()
    blind = evaluate(model, split, id2tok, qids, drop_image=True, autocast=not a.no_autocast)
    prior = prior_answers(ready_train_files(a.data))
    prior_recs = [{"family": split.questions[i]["family"], "pred": prior[split.questions[i]["family"]],
                   "gold": split.questions[i]["answer"]} for i in qids]
    result = {"checkpoint": os.path.abspath(a.ckpt), "step": model.ckpt_step, "split": a.split,
              "precision": "f32" if a.no_autocast else "bf16 autocast",
              "model": score(recs), "prior": score(prior_recs), "no_image": score(blind),
              "prior_answers": prior, "seconds": round(t1 - t0, 1),
              "examples": [r for r in recs if r["family"] == "caption"][:3]}
    text = json.dumps(result, indent=2)
    print(text)
    if a.out:
        os.makedirs(os.path.dirname(a.out), exist_ok=True)
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
