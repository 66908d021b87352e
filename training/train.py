"""Train atp-tiny on ShapesVQA (bf16 autocast where the device has bf16: precision.py).

  cd training && nohup /usr/bin/python3 train.py --run atp-tiny-1 --minutes 65 > runs/atp-tiny-1/log.txt 2>&1 &
  cd training && /usr/bin/python3 train.py --run atp-tiny-1 --resume   # continue from runs/atp-tiny-1/ckpt.pt

Reads data/{tokenizer.json,val.*,train-K.*} (files listed in data/READY; train-2..4 are picked up as they
appear). A step = all questions of `--images` images: the vision tower and the LLM prefix run once per image
(prefix.py), loss on answer tokens + <eos>. AdamW, linear warmup + cosine to 10%. Logs to stdout and
runs/<run>/metrics.jsonl; checkpoints (model, optimizer, step, data position) every `--ckpt-minutes`.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import allocator
from data import (Split, TrainStream, WorkerBatches, add_aux, make_batch, parse_family_keep, ready_train_files,
                  vocab_size)
from metrics import balanced_subset, evaluate, load_id_to_token, score
from model import LlavaForConditionalGeneration, load_config
from precision import autocast
from prefix import batch_logits, blind_logits, prefix_len

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="atp-tiny-1")
    ap.add_argument("--config", default=os.path.join(HERE, "config.json"))
    ap.add_argument("--data", default=os.path.join(HERE, "..", "data"))
    ap.add_argument("--images", type=int, default=16, help="images per step (all their questions)")
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--steps", type=int, default=0, help="total steps; 0 = derive from --minutes")
    ap.add_argument("--minutes", type=float, default=65.0, help="planned wall time when --steps is 0")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--eval-per-family", type=int, default=50)
    ap.add_argument("--ckpt-minutes", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=0,
                    help="build batches in this many DataLoader processes (GPU runs; no curriculum, and a "
                         "resumed run draws a fresh data order); 0 = in this process, resumable to the batch")
    ap.add_argument("--first-file", type=int, default=1,
                    help="start the train stream at data/train-K (e.g. a newer file with more questions per image)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", default="", help="start from this checkpoint's weights (new optimizer/schedule)")
    ap.add_argument("--embed-std", type=float, default=1.0,
                    help="init std of the token embeddings: unit scale like the normalised visual tokens, so a "
                         "question word is not drowned by the first layer's image read-out (0.02 stalled)")
    ap.add_argument("--aux-weight", type=float, default=1.0,
                    help="weight of the vision tower's auxiliary patch-label loss (0 disables; training only)")
    ap.add_argument("--aux-average", choices=["patches", "objects"], default="objects",
                    help="how the patch-label loss averages (patch_loss); runs up to atp-tiny-8 used `patches`")
    ap.add_argument("--aux-images", type=int, default=0,
                    help="extra images per step for the patch-label loss alone (vision tower only: ~1/14 of an "
                         "image's full cost), from a second stream over the same files (with --workers: drawn from the "
                         "file in hand)")
    ap.add_argument("--curriculum", default="300:2,700:4",
                    help="STEP:MAX_OBJECTS,...: before STEP only images with <= MAX_OBJECTS objects")
    ap.add_argument("--family-keep", default="",
                    help="FAMILY=P,...: keep a question of FAMILY with probability P (a fine-tune that spends its "
                         "steps on the families still short of their targets); the rest keep every question")
    ap.add_argument("--min-objects", type=int, default=0, help="only images with at least this many objects")
    ap.add_argument("--blind-frac", type=float, default=0.0,
                    help="this fraction of a step's questions is also asked without its image (<bos> question "
                         "<sep>: text-only examples, as LLaVA-1.5 mixes text-only data), so that the no-image "
                         "control answers from the question alone instead of an input it never saw")
    return ap.parse_args()


def lr_at(step, total, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    t = min(1.0, (step - a.warmup) / max(1, total - a.warmup))
    return a.lr * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * t)))


class PatchHead(torch.nn.Module):
    """Training-only probe on the vision encoder output: the colour x shape class of the object under each
    patch (labels from the generator, tools/shapesvqa/patches.ts). It gives the from-scratch ViT a dense
    signal, so the LLM soon has object features to attend to; it is not part of the exported model."""

    def __init__(self, width: int, classes: int):
        super().__init__()
        self.proj = torch.nn.Linear(width, classes)

    def forward(self, feats):  # (N, 144, Cv) -> (N, 144, classes)
        return self.proj(feats)


def make_optimizer(model, a, extra=()):
    named = list(model.named_parameters()) + [(f"aux.{n}", p) for m in extra for n, p in m.named_parameters()]
    decay = [p for n, p in named if p.dim() >= 2]
    other = [p for n, p in named if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                              {"params": other, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.95))


def patch_loss(logits, labels, average: str):
    """Cross-entropy of the patch labels. `patches`: mean over all 144 patches, where the ~87% background
    patches (learnt at once) leave each object patch 1/144 of the signal; `objects`: mean over background
    patches + mean over object patches, so object patches (whose shape the ViT must learn) weigh half."""
    per = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="none")
    if average == "patches":
        return per.mean()
    obj = labels.reshape(-1) > 0
    return per[~obj].mean() + (per[obj].mean() if obj.any() else 0.0)


def save(path, model, opt, step, total, stream, a, elapsed, aux=None, aux_stream=None):
    """Atomic checkpoint; `data` is None for a --workers run (not resumable to the batch)."""
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step, "total_steps": total,
                "data": stream.state() if stream is not None else None, "config": model.config.to_dict(),
                "args": vars(a), "elapsed": elapsed,
                "aux_head": aux.state_dict() if aux is not None else None,
                "aux_data": aux_stream.state() if aux_stream is not None else None},
               tmp)
    os.replace(tmp, path)


def main():
    a = parse_args()
    allocator.tune()  # no mmap/munmap of the step's large tensors (allocator.py)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    run_dir = os.path.join(HERE, "runs", a.run)
    os.makedirs(run_dir, exist_ok=True)
    ckpt_path = os.path.join(run_dir, "ckpt.pt")
    tok_path = os.path.join(a.data, "tokenizer.json")
    while not ready_train_files(a.data):
        print("waiting for data/READY ...", flush=True)
        time.sleep(20)

    cfg = load_config(a.config)
    cfg.text_config.vocab_size = vocab_size(tok_path)
    ck = torch.load(ckpt_path, map_location="cpu") if a.resume else None
    if ck is not None:  # the run's recipe comes from the checkpoint, so `--resume` alone continues it
        for k in ["images", "lr", "min_lr_frac", "warmup", "weight_decay", "seed", "curriculum", "eval_every",
                  "eval_per_family", "aux_average", "aux_images", "family_keep", "min_objects", "blind_frac"]:
            if k in ck["args"]:
                setattr(a, k, ck["args"][k])
        from model import LlavaConfig
        cfg = LlavaConfig.from_dict(ck["config"])
    model = LlavaForConditionalGeneration(cfg).to(dev)
    with open(os.path.join(a.data, "config.json")) as f:
        n_classes = json.load(f).get("num_patch_classes", 0)
    aux = PatchHead(cfg.vision_config.hidden_size, n_classes).to(dev) if a.aux_weight > 0 and n_classes else None
    opt = make_optimizer(model, a, [aux] if aux is not None else [])
    step, total, elapsed0 = 0, a.steps, 0.0
    keep = parse_family_keep(a.family_keep)
    start = {"chunk": a.first_file - 1, "file": None, "pos": 0}
    stream = aux_stream = loader = None
    aux_images = a.aux_images if aux is not None else 0
    if a.workers > 0:  # batches from worker processes; a resumed run re-seeds by its step
        if a.curriculum:
            sys.exit("--workers takes no --curriculum (pass --curriculum '')")
        seed = a.seed + (ck["step"] if ck else 0)
        loader = iter(torch.utils.data.DataLoader(
            WorkerBatches(a.data, seed, a.images, aux_images, cfg.sep_token_id, cfg.pad_token_id,
                          prefix_len(model), a.first_file - 1, keep, a.min_objects),
            batch_size=None, num_workers=a.workers, pin_memory=dev == "cuda", prefetch_factor=4,
            persistent_workers=True))
    else:
        stream = TrainStream(a.data, a.seed, a.images, (ck or {}).get("data") or start)
        if aux_images > 0:
            aux_stream = TrainStream(a.data, a.seed + 7919, aux_images, (ck or {}).get("aux_data") or start)
    if ck is not None:
        model.load_state_dict(ck["model"])
        if aux is not None and ck.get("aux_head"):
            aux.load_state_dict(ck["aux_head"])
        opt.load_state_dict(ck["optimizer"])
        step, total, elapsed0 = ck["step"], ck["total_steps"], ck.get("elapsed", 0.0)
        print(f"resumed at step {step}/{total} data {stream.state() if stream else 'workers'}", flush=True)
    elif a.init:
        init = torch.load(a.init, map_location="cpu")
        model.load_state_dict(init["model"])
        if aux is not None and init.get("aux_head"):
            aux.load_state_dict(init["aux_head"])
        print(f"initialised from {a.init}", flush=True)
    else:
        torch.nn.init.normal_(model.language_model.model.embed_tokens.weight, mean=0.0, std=a.embed_std)
    curriculum = [tuple(map(int, x.split(":"))) for x in a.curriculum.split(",") if x]
    n_params = sum(p.numel() for p in model.parameters())
    print(f"atp-tiny: {n_params / 1e6:.3f}M params, vocab {cfg.text_config.vocab_size}, device {dev}, "
          f"images/step {a.images}", flush=True)
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        json.dump(cfg.to_dict(), f, indent=2)

    val = Split(os.path.join(a.data, "val"))
    val_ids = balanced_subset(val, a.eval_per_family)
    id2tok = load_id_to_token(tok_path)
    P = prefix_len(model)
    log = open(os.path.join(run_dir, "metrics.jsonl"), "a")
    t_start, t_ckpt = time.time(), time.time()
    t_win, n_q_win, loss_win, n_win = time.time(), 0, 0.0, 0
    aux_win = 0.0
    model.train()
    while total == 0 or step < total:
        if loader is not None:
            b = next(loader)
        else:
            max_obj = next((m for s_end, m in curriculum if step < s_end), 0)
            split, ims = stream.next_images(max_obj, a.min_objects)
            b = make_batch(split, ims, cfg.sep_token_id, cfg.pad_token_id, P, keep,
                           np.random.default_rng([a.seed, step]))
            if aux_stream is not None:
                add_aux(b, *aux_stream.next_images())
        b = {k: v.to(dev, non_blocking=True) for k, v in b.items()}
        lr = lr_at(step, total or 10 ** 9, a)
        for g in opt.param_groups:
            g["lr"] = lr
        inter = {}
        ans_labels = b["labels"]
        with autocast(dev):
            logits = batch_logits(model, b, out=inter)
            if a.blind_frac > 0:
                gen = torch.Generator().manual_seed(a.seed * 1000003 + step)
                rows = torch.nonzero(torch.rand(len(ans_labels), generator=gen) < a.blind_frac).flatten().to(dev)
                if len(rows) > 0:
                    logits = torch.cat([logits, blind_logits(model, b, rows)])
                    ans_labels = torch.cat([ans_labels, ans_labels.index_select(0, rows)])
        ce = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), ans_labels.reshape(-1),
                             ignore_index=-100)
        loss = ce
        if aux is not None and "patch_labels" in b:
            with autocast(dev):
                patch_logits = aux(inter["vision.encoder_out"])  # (N, 144, classes)
            labels = b["patch_labels"]
            if "aux_pixels_u8" in b:
                xinter = {}
                with autocast(dev):
                    model.image_features(model.pixels_from_u8(b["aux_pixels_u8"]), out=xinter)
                    patch_logits = torch.cat([patch_logits, aux(xinter["vision.encoder_out"])])
                labels = torch.cat([labels, b["aux_patch_labels"]])
            aux_loss = patch_loss(patch_logits, labels, a.aux_average)
            loss = loss + a.aux_weight * aux_loss
            aux_win += aux_loss.item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        n_q_win += b["ids"].shape[0]
        loss_win += ce.item()
        n_win += 1
        if step == 10:
            t_plan = time.time()
        if step == 40 and total == 0:  # plan the cosine from the measured speed (steps 11..40: warm caches)
            per_step = (time.time() - t_plan) / 30
            total = max(step + 100, int(a.minutes * 60 / (per_step * 1.08)))  # ~8% for evals
            print(f"planned total steps {total} ({per_step:.2f} s/step)", flush=True)
        if step % 10 == 0:
            dt = time.time() - t_win
            print(f"step {step}/{total} loss {loss_win / n_win:.4f} aux {aux_win / n_win:.4f} lr {lr:.2e} "
                  f"gnorm {gnorm:.2f} "
                  f"{n_q_win / dt:.1f} q/s {a.images * n_win / dt:.1f} img/s "
                  f"data {stream.state() if stream else 'workers'}", flush=True)
            log.write(json.dumps({"step": step, "time": round(elapsed0 + time.time() - t_start, 1),
                                  "loss": round(loss_win / n_win, 5), "lr": lr, "q_per_s": round(n_q_win / dt, 2),
                                  "files": len(ready_train_files(a.data))}) + "\n")
            log.flush()
            t_win, n_q_win, loss_win, n_win = time.time(), 0, 0.0, 0
            aux_win = 0.0
        last = total and step >= total
        # the checkpoint first: the last eval (all of val) can outlast a time limit
        if time.time() - t_ckpt > a.ckpt_minutes * 60 or last:
            save(ckpt_path, model, opt, step, total, stream, a, elapsed0 + time.time() - t_start, aux, aux_stream)
            t_ckpt = time.time()
        if step % a.eval_every == 0 or last:
            t0 = time.time()
            s = score(evaluate(model, val, id2tok, val_ids if not last else None, device=dev))
            print(f"eval step {step} val {json.dumps(s)} ({time.time() - t0:.0f} s)", flush=True)
            log.write(json.dumps({"step": step, "time": round(elapsed0 + time.time() - t_start, 1), "val": s}) + "\n")
            log.flush()
            t_win = time.time()
    print("done", flush=True)


if __name__ == "__main__":
    sys.exit(main())
