"""Stage 2: train the ATP modules (training/atp.py) with the LLM fine-tuned jointly (docs/method.md, Training).

  cd training && nohup /usr/bin/python3 train_atp.py --init runs/atp-tiny-7/ckpt.pt --run atp-stage2 \
      --minutes 25 > runs/atp-stage2/log.txt 2>&1 &
  cd training && /usr/bin/python3 train_atp.py --run atp-stage2 --resume     # continue from its ckpt.pt

Loss = CE(answer + <eos>) + lambda_depth * sum_l w_l kept_l / N + lambda_target * |mean_l kept_l / N - 0.25|
with kept_l the (straight-through) count of visual tokens alive entering LLM layer l, the mean over ALL
layers (unpruned ones included); with --budget lagrange the budget term is mean(mu g + rho/2 g^2) over the
gaps g (atp.budget_gap) with multipliers mu += dual_lr g after each step (atp.BudgetMultipliers); with
--scene-prior K each instance's kept share is also held near its scene's share (atp.scene_targets: K + objects,
scaled to the batch's level) by lambda_scene * atp.scene_loss. bf16 autocast where the device has bf16 (precision.py). Logs the loss terms, the kept
fraction per layer (hard) and, every --eval-every steps, val accuracy per family by teacher-forced exact
match (== greedy exact match: greedy reproduces the gold answer iff every teacher-forced argmax is gold)
to stdout and runs/<run>/metrics.jsonl. Checkpoints (model, ATP, optimizer, step, data position) every
--ckpt-minutes, atomically; `--resume` continues. The ATP block of the config goes into the checkpoint.
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

import allocator
from atp import (NUM_FEATURES, ATP, ATPConfig, BudgetMultipliers, GridSelect, atp_forward, budget_gap, budget_losses,
                 flat_level, scene_loss, scene_targets, shift_spatial)
from data import FAMILIES, Split, TrainStream, make_batch, parse_family_values, ready_train_files
from model import LlavaConfig, LlavaForConditionalGeneration
from precision import autocast
from prefix import batch_logits, prefix_len
from vision_reduce import VisionReduction

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="atp-stage2")
    ap.add_argument("--init", default=os.path.join(HERE, "runs", "atp-tiny-1", "ckpt.pt"), help="stage-1 ckpt")
    ap.add_argument("--config", default=os.path.join(HERE, "config.json"), help="its `atp` block")
    ap.add_argument("--data", default=os.path.join(HERE, "..", "data"))
    ap.add_argument("--images", type=int, default=8, help="images per step (all their questions)")
    ap.add_argument("--lr", type=float, default=3e-4,
                    help="LLM/vision fine-tuning peak LR; 0 keeps them as stage 1 left them (atp-stage2g)")
    ap.add_argument("--lr-atp", type=float, default=3e-3, help="threshold MLPs")
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--steps", type=int, default=0, help="0 = derive from --minutes")
    ap.add_argument("--minutes", type=float, default=25.0)
    ap.add_argument("--lambda-depth", type=float, default=0.05)
    ap.add_argument("--lambda-target", type=float, default=100.0,
                    help="weight of |mean kept - target|; it reaches only the ATP MLPs (4 and 30 let CE push the "
                         "kept share up from 0.31 to 0.37-0.52 within 100 steps)")
    ap.add_argument("--unpruned-every", type=int, default=0,
                    help="every Nth step trains the LLM on the unpruned forward (CE only), so that fine-tuning "
                         "under pruning keeps the unpruned model; 0 = never")
    ap.add_argument("--anneal-steps", type=int, default=0,
                    help="the budget target falls linearly from 1 (every token) to atp.target_keep over this many "
                         "steps, so that the LLM adapts to the pruning as it tightens; 0 = the target from step 0")
    ap.add_argument("--soft", action="store_true", help="soft masks in the forward (default straight-through)")
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-per-family", type=int, default=40)
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--vision-reduce", default="",
                    help="LAYER,TOKENS[,MERGE]: train the pruned steps with the engine's vision reduction "
                         "(training/vision_reduce.py; evaluate with `npm run eval -- --vision` the same)")
    ap.add_argument("--init-atp", action="store_true",
                    help="start the ATP modules from the --init checkpoint's `atp` entry (import_served.py keeps the served ones)")
    ap.add_argument("--select", choices=["atp", "grid"], default="atp",
                    help="grid: the control run -- the same recipe with ATP's learned scores and thresholds replaced "
                         "by the engine's `grid` method (a uniform sub-grid after --grid-layer, as many tokens as the "
                         "annealed budget allows), so that what the learned part adds is visible")
    ap.add_argument("--merge", action="store_true",
                    help="the modules merge what they drop into the most similar kept token, with proportional "
                         "attention (training/atp.py merge_dropped; sets atp.merge in the exported config)")
    ap.add_argument("--input", action="store_true",
                    help="the first module decides before layer 0 from layer 0's attention on its input "
                         "(training/atp.py ATPConfig.input; sets atp.input in the exported config)")
    ap.add_argument("--question-state", action="store_true",
                    help="the threshold MLPs also read the instruction rows' mean hidden state (atp.question_state; "
                         "sets atp.question_state in the exported config); with --init-atp from modules without it, "
                         "its weights start at 0, so the run starts from the same thresholds")
    ap.add_argument("--schedule", choices=["mean", "flat"], default="mean",
                    help="mean: the budget term holds the mean kept share over all layers (the modules choose the "
                         "schedule); flat: it holds every layer after the first module at one level with the same "
                         "mean (atp.budget_losses flat_from)")
    ap.add_argument("--budget", choices=["l1", "lagrange"], default="l1",
                    help="l1: lambda_target * |gap| (the served recipe); lagrange: the gaps held by multipliers "
                         "(atp.BudgetMultipliers), which leave the spread over instances to the answer loss")
    ap.add_argument("--dual-lr", type=float, default=100.0, help="--budget lagrange: mu += dual_lr * gap per step")
    ap.add_argument("--rho", type=float, default=50.0, help="--budget lagrange: the quadratic term's weight")
    ap.add_argument("--scene-prior", type=float, default=0.0,
                    help="K > 0: also hold each instance's kept share (layers of the flat schedule) near "
                         "level * (K + objects) / batch mean (atp.scene_targets), weighted --lambda-scene; needs "
                         "--schedule flat. 0 (default): only batch means are held")
    ap.add_argument("--lambda-scene", type=float, default=30.0, help="--scene-prior: the per-instance term's weight")
    ap.add_argument("--family-weight", default="",
                    help="--scene-prior: FAMILY=W,... multiplies each question's scene share by its family's W "
                         "(unnamed families 1; atp.scene_targets), e.g. count=1.2,caption=1.2,colour=0.85,shape=0.85")
    ap.add_argument("--scene-by-image", action="store_true",
                    help="--scene-prior: hold each image's mean share over its questions, not each question's "
                         "(the question state then moves tokens between an image's questions)")
    ap.add_argument("--shift-z-s", type=float, default=0.0,
                    help="with --init-atp: add this to every module's z_s bias at the start (atp.shift_spatial): "
                         "e.g. 0.95 lifts the served soup's theta_s ~0.71 to ~0.86, above the stride-4 level 0.8125, so that the "
                         "fixed spatial grid is the stride-6 one alone and the importance branch spends the rest")
    ap.add_argument("--grid-layer", type=int, default=0, help="with --select grid: the layer the grid follows (-1: before layer 0, the LLM's input)")
    return ap.parse_args(argv)


def lr_scale(step, total, warmup):
    if step < warmup:
        return (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t))


def annealed_target(step, anneal_steps, target):
    """The budget target at `step`: 1 -> target linearly over the first anneal_steps steps, then target."""
    if anneal_steps <= 0 or step >= anneal_steps:
        return target
    return 1.0 - (1.0 - target) * step / anneal_steps


def batch_tensors(b):
    """make_batch output -> + n_instr (question + <sep>): labels start at the <sep> position."""
    first_label = (b["labels"] != -100).float().argmax(1)  # (B,) index of <sep> in the suffix
    b["n_instr"] = first_label + 1
    return b


def run_batch(model, atp, b, dev, straight_through=True, beta=0.0):
    with autocast(dev):
        logits, kept, info = atp_forward(model, atp, model.pixels_from_u8(b["pixels_u8"]), b["img_index"],
                                         b["ids"], b["valid"], b["pos"], b["n_instr"], beta, straight_through)
    return logits.float(), kept.float(), info


@torch.no_grad()
def evaluate_tf(model, atp, split, qids, dev, images_per_batch=16):
    """Teacher-forced exact match per family and the hard kept fraction per layer on questions `qids`."""
    model.eval()
    by_image = {}
    for qi in qids:
        by_image.setdefault(split.questions[qi]["image"], []).append(qi)
    hit, n, kept_sum, n_q = {}, {}, None, 0
    ims = sorted(by_image)
    P = prefix_len(model)
    c = model.config
    for s in range(0, len(ims), images_per_batch):
        chunk = ims[s: s + images_per_batch]
        sub = type("Sub", (), {})()  # a Split view holding only the chosen questions
        sub.by_image = {im: by_image[im] for im in chunk}
        sub.questions, sub.pixels_u8, sub.patches = split.questions, split.pixels_u8, None
        b = make_batch(sub, chunk, c.sep_token_id, c.pad_token_id, P)
        b = batch_tensors({k: v.to(dev) for k, v in b.items()})
        logits, kept, _ = run_batch(model, atp, b, dev)
        lab = b["labels"]
        ok = ((logits.argmax(-1) == lab) | (lab == -100)).all(1)  # (B,)
        fams = [split.questions[qi]["family"] for im in chunk for qi in by_image[im]]
        for f, o in zip(fams, ok.tolist()):
            hit[f] = hit.get(f, 0) + int(o)
            n[f] = n.get(f, 0) + 1
        kept_sum = kept.sum(0) if kept_sum is None else kept_sum + kept.sum(0)
        n_q += kept.shape[0]
    model.train()
    acc = {f: round(hit[f] / n[f], 4) for f in FAMILIES if f in n}
    acc["mean"] = round(sum(acc.values()) / len(acc), 4)
    per_layer = (kept_sum / n_q).tolist()
    return acc, [round(v, 4) for v in per_layer]


def save(path, model, atp, opt, step, total, stream, a, atp_cfg, elapsed, duals=None):
    tmp = path + ".tmp"
    torch.save({"duals": duals.state() if duals else None, "model": model.state_dict(), "atp": atp.export_state(), "optimizer": opt.state_dict(),
                "step": step, "total_steps": total, "data": stream.state(), "config": model.config.to_dict(),
                "atp_config": atp_cfg.to_dict(), "args": vars(a), "elapsed": elapsed}, tmp)
    os.replace(tmp, path)


def main(argv=None):
    a = parse_args(argv)
    allocator.tune()  # no mmap/munmap of the step's large tensors (allocator.py)
    run_dir = os.path.join(HERE, "runs", a.run)
    os.makedirs(run_dir, exist_ok=True)
    ckpt_path = os.path.join(run_dir, "ckpt.pt")
    ck = torch.load(ckpt_path if a.resume else a.init, map_location="cpu")
    if a.resume:  # the run's recipe comes from the checkpoint, so `--resume` alone continues it (as train.py)
        for k in ["images", "lr", "lr_atp", "warmup", "lambda_depth", "lambda_target", "unpruned_every", "anneal_steps", "soft",
                  "eval_every", "eval_per_family", "seed", "select", "grid_layer", "schedule", "budget",
                  "dual_lr", "rho", "scene_prior", "lambda_scene", "scene_by_image", "family_weight", "vision_reduce"]:
            if k in ck["args"]:
                setattr(a, k, ck["args"][k])
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    cfg = LlavaConfig.from_dict(ck["config"])
    if a.resume:
        atp_cfg = ATPConfig.from_dict(ck["atp_config"])
    else:
        with open(a.config) as f:
            atp_cfg = ATPConfig.from_dict(json.load(f).get("atp", {}))
        atp_cfg.merge = atp_cfg.merge or a.merge
        atp_cfg.input = atp_cfg.input or a.input
        if a.question_state:
            atp_cfg.question_state = True
            atp_cfg.num_features = NUM_FEATURES + cfg.text_config.hidden_size
    model = LlavaForConditionalGeneration(cfg).to(dev)
    model.load_state_dict(ck["model"])
    grid = int(round(math.sqrt(cfg.image_seq_length)))
    L = cfg.text_config.num_hidden_layers
    if a.select == "grid":
        atp = GridSelect(grid, a.grid_layer, L, atp_cfg.merge).to(dev)
        atp.set_budget(annealed_target(0, a.anneal_steps, atp_cfg.target_keep))
    else:
        atp = ATP(atp_cfg, grid).to(dev)
    if a.vision_reduce:
        if a.select != "atp":
            raise SystemExit("train_atp: --vision-reduce is for ATP's modules")
        atp.vision_reduce = VisionReduction.parse(a.vision_reduce)
    if a.resume:
        atp.load_export_state(ck["atp"])
    elif a.init_atp:
        if not ck.get("atp"):
            raise SystemExit(f"--init-atp: {a.init} has no ATP modules")
        want = atp.export_state()

        def widened(k, v):  # fc1 columns for inputs the --init modules did not read start at 0
            w = want[k]
            if k.endswith("fc1.weight") and v.shape[-1] < w.shape[-1]:
                return torch.cat([v, torch.zeros(w.shape[0], w.shape[1] - v.shape[-1], dtype=v.dtype)], dim=1)
            return v.reshape(w.shape)

        atp.load_export_state({k: widened(k, v) for k, v in ck["atp"].items()})
        if a.shift_z_s:
            shift_spatial(atp, a.shift_z_s)
    elif a.shift_z_s:
        raise SystemExit("train_atp: --shift-z-s needs --init-atp")
    groups = [{"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": 0.05, "lr0": a.lr},
              {"params": [p for p in model.parameters() if p.dim() < 2], "weight_decay": 0.0, "lr0": a.lr},
              {"params": list(atp.parameters()), "weight_decay": 0.0, "lr0": a.lr_atp}]
    groups = [g for g in groups if g["params"]]  # the grid control has no ATP parameters
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.95))
    step, total, elapsed0 = 0, a.steps, 0.0
    stream = TrainStream(a.data, a.seed, a.images, ck["data"] if a.resume else None)
    if a.resume:
        opt.load_state_dict(ck["optimizer"])
        step, total, elapsed0 = ck["step"], ck["total_steps"], ck.get("elapsed", 0.0)
        print(f"resumed at step {step}/{total} data {stream.state()}", flush=True)
    print(f"stage 2 from {a.init if not a.resume else ckpt_path}: ATP {atp_cfg.to_dict()}, "
          f"{sum(p.numel() for p in atp.parameters())} ATP params, device {dev}", flush=True)
    val = Split(os.path.join(a.data, "val"))
    from metrics import balanced_subset
    val_ids = balanced_subset(val, a.eval_per_family)
    P = prefix_len(model)
    log = open(os.path.join(run_dir, "metrics.jsonl"), "a")
    # budget_losses' flat schedule: every layer the first module prunes (from layer 0 with atp.input)
    flat_from = (0 if atp_cfg.input else atp_cfg.layers[0] + 1) if a.schedule == "flat" else None
    duals = None
    if a.budget == "lagrange":
        n_gaps = (cfg.text_config.num_hidden_layers - flat_from) if flat_from is not None else 1
        duals = (BudgetMultipliers.from_state(ck["duals"]) if a.resume and ck.get("duals")
                 else BudgetMultipliers(n_gaps, a.dual_lr, a.rho))
    first_pruned = 0 if atp_cfg.input else atp_cfg.layers[0] + 1  # kept's column after the first module
    if a.scene_prior > 0 and flat_from is None:
        raise SystemExit("train_atp: --scene-prior needs --schedule flat")
    if a.family_weight and a.scene_prior <= 0:
        raise SystemExit("train_atp: --family-weight needs --scene-prior")
    fam_w = parse_family_values(a.family_weight, "--family-weight", 10.0)
    fam_table = torch.tensor([fam_w.get(f, 1.0) for f in FAMILIES])
    t_start = t_ckpt = t_win = time.time()
    def new_window():  # the sums a log line averages over its pruned steps
        return {"ce": 0.0, "depth": 0.0, "target": 0.0, "scene": 0.0, "n": 0, "kept": None, "spread": 0.0, "corr": 0.0,
                "theta_s": 0.0}

    win = new_window()
    model.train()
    while total == 0 or step < total:
        split, ims = stream.next_images()
        b = make_batch(split, ims, cfg.sep_token_id, cfg.pad_token_id, P)
        b = batch_tensors({k: v.to(dev) for k, v in b.items()})
        sc = lr_scale(step, total or 10 ** 9, a.warmup)
        for g in opt.param_groups:
            g["lr"] = g["lr0"] * sc
        unpruned = a.unpruned_every > 0 and step % a.unpruned_every == a.unpruned_every - 1
        if a.select == "grid":
            atp.set_budget(annealed_target(step, a.anneal_steps, atp_cfg.target_keep))
        if unpruned:
            with autocast(dev):
                logits = batch_logits(model, b).float()
        else:
            logits, kept, info = run_batch(model, atp, b, dev, straight_through=not a.soft)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), b["labels"].reshape(-1), ignore_index=-100)
        loss = ce
        objs = torch.tensor([float(split.n_objects(im)) for im in ims], device=dev)[b["img_index"]]  # (B,)
        scene = torch.zeros(())
        if not unpruned:
            goal = annealed_target(step, a.anneal_steps, atp_cfg.target_keep)
            depth, target = budget_losses(kept, goal, flat_from)
            if a.select == "atp" and duals is not None:
                gap = budget_gap(kept, goal, flat_from)
                loss = ce + a.lambda_depth * depth + duals.term(gap)
                duals.update(gap)
            elif a.select == "atp":  # the grid's count is fixed: no budget terms to learn from
                loss = ce + a.lambda_depth * depth + a.lambda_target * target
            if a.select == "atp" and a.scene_prior > 0:
                level = flat_level(kept.shape[1], goal, flat_from)
                weight = fam_table.to(dev)[b["family"].to(dev)] if fam_w else None
                scene = scene_loss(kept, scene_targets(objs, level, a.scene_prior, weight), flat_from,
                                   b["img_index"] if a.scene_by_image else None)
                loss = loss + a.lambda_scene * scene
        opt.zero_grad(set_to_none=True)
        loss.backward()
        # clipped apart: the budget terms reach only the ATP MLPs (scores are detached) and can be large;
        # one joint clip would let them scale the LLM's CE gradient away
        torch.nn.utils.clip_grad_norm_(list(model.parameters()), 1.0)
        if a.select == "atp":
            torch.nn.utils.clip_grad_norm_(list(atp.parameters()), 1.0)
        opt.step()
        step += 1
        if not unpruned:  # the window logs the pruned steps
            win["ce"] += ce.item()
            win["depth"] += depth.item()
            win["target"] += target.item()
            win["scene"] += scene.item()
            win["n"] += 1
            kd = kept.detach().mean(0)
            win["kept"] = kd if win["kept"] is None else win["kept"] + kd
            # per-instance spread after the first module, and its correlation with the scene's object count
            k0 = kept.detach()[:, first_pruned].float()
            win["spread"] += (k0.std() / k0.mean().clamp_min(1e-6)).item()
            kc, oc = k0 - k0.mean(), objs - objs.mean()
            win["corr"] += ((kc * oc).sum() / ((kc.norm() * oc.norm()).clamp_min(1e-9))).item()
            if info and "theta_s" in info[0]:  # module 0's spatial threshold, mean over the batch
                win["theta_s"] += info[0]["theta_s"].float().mean().item()
        if step == 5:
            t_plan = time.time()
        if step == 15 and total == 0:
            per_step = (time.time() - t_plan) / 10
            total = max(step + 20, int(a.minutes * 60 / (per_step * 1.1)))
            print(f"planned total steps {total} ({per_step:.2f} s/step)", flush=True)
        if step % 5 == 0 and win["n"] > 0:
            n = win["n"]
            kl = (win["kept"] / n).tolist()
            rec = {"step": step, "time": round(elapsed0 + time.time() - t_start, 1), "ce": round(win["ce"] / n, 4),
                   "depth": round(win["depth"] / n, 4), "target": round(win["target"] / n, 4),
                   "scene": round(win["scene"] / n, 4),
                   "kept_per_layer": [round(v, 3) for v in kl], "kept_mean": round(sum(kl) / len(kl), 4),
                   "s_per_step": round((time.time() - t_win) / n, 2),
                   "spread": round(win["spread"] / n, 3), "corr_objects": round(win["corr"] / n, 3),
                   "theta_s": round(win["theta_s"] / n, 4)}
            if duals is not None:
                rec["mu"] = [round(v, 2) for v in duals.mu.tolist()]
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            win = new_window()
            t_win = time.time()
        last = total and step >= total
        if step % a.eval_every == 0 or last:
            t0 = time.time()
            acc, per_layer = evaluate_tf(model, atp, val, val_ids if not last else val_ids, dev)
            rec = {"step": step, "val": acc, "val_kept_per_layer": per_layer,
                   "val_kept_mean": round(sum(per_layer) / len(per_layer), 4), "eval_s": round(time.time() - t0)}
            print("eval " + json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            t_win = time.time()
        if time.time() - t_ckpt > a.ckpt_minutes * 60 or last:
            save(ckpt_path, model, atp, opt, step, total, stream, a, atp_cfg, elapsed0 + time.time() - t_start, duals)
            t_ckpt = time.time()
    print("done", flush=True)


if __name__ == "__main__":
    sys.exit(main())
