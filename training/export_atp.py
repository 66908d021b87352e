"""Export a stage-2 (ATP) checkpoint: export.py's output plus the ATP tensors and the config's `atp` block.

  cd training && /usr/bin/python3 export_atp.py --ckpt runs/atp-stage2/ckpt.pt

Writes out/atp-tiny/{model.safetensors, config.json, tokenizer.json} like export.py (same f32 safetensors
writer, round-trip checked), with `atp.{k}.mlp.fc1.{weight,bias}`, `atp.{k}.mlp.fc2.{weight,bias}` added
and `"atp": {...}` (training/atp.py ATPConfig) in config.json -- the converter picks both up through
wasm/model/names.ts. With --fixtures, also export.py's golden fixtures and test/fixtures/atp-tiny/atp.json: for
a few test questions, the visual tokens each module keeps (hard decisions, f32, budget 0) and its thresholds,
for the engine's parity test (without it, the served model's fixtures are left as they are).
Before writing, the budget beta at which the modules keep --keep (default 0.25) of the visual tokens on
average over LLM layers on 100 val images is found by bisection and folded into each module's fc2 bias
(z - beta), so the shipped thresholds hit the target as the engine runs them at budget 0: stage 2's
budget loss holds the mean only to within a few points (training/README.md). config.json records it
(`atp_calibration`). Options: --fixtures (the fixtures above), --onnx, --keep 0 (as trained), --input and
--merge (run the modules so: atp.input, atp.merge).
"""

import argparse
import json
import math
import os
import shutil

import torch

from atp import ATP, ATPConfig, atp_forward
from data import Split, make_batch
from export import ROOT, HERE, export_onnx, load_model, read_safetensors, write_safetensors
from prefix import prefix_len
from train_atp import batch_tensors
from vision_reduce import VisionReduction


def atp_fixture(model, atp, data_dir, fixture_dir):
    """Per question of the golden fixtures' images (index.json, training/fixtures.py): ids, per-module kept
    grid indices and thresholds (f32, straight-through = hard). `fixture_image` i = img{i}.pixels.u8."""
    split = Split(os.path.join(data_dir, "test"))
    c = model.config
    with open(os.path.join(fixture_dir, "index.json")) as f:
        ims = [e["test_image"] for e in json.load(f)["images"]]
    b = batch_tensors(make_batch(split, ims, c.sep_token_id, c.pad_token_id, prefix_len(model)))
    with torch.no_grad():
        _, kept, info = atp_forward(model, atp, model.pixels_from_u8(b["pixels_u8"]), b["img_index"], b["ids"],
                                    b["valid"], b["pos"], b["n_instr"])
    out = []
    qis = [qi for im in ims for qi in split.by_image[im]]
    for r, qi in enumerate(qis):
        q = split.questions[qi]
        alive = torch.ones(c.image_seq_length)
        mods = []
        for inf in info:
            alive = alive * inf["hard"][r]
            mods.append({"t_r": inf["t_r"][r].item(), "theta_s": inf["theta_s"][r].item(),
                         "kept": torch.nonzero(alive).flatten().tolist()})
        out.append({"test_index": qi, "fixture_image": ims.index(q["image"]), "family": q["family"],
                    "q_ids": q["q_ids"], "modules": mods, "kept_per_layer": [round(v * c.image_seq_length) for v in kept[r].tolist()]})
    return out


@torch.no_grad()
def kept_fraction(model, atp, batches, beta):
    """Mean over questions and LLM layers of the visual tokens alive (hard decisions, f32) at budget beta."""
    total, n = 0.0, 0
    for b in batches:
        _, kept, _ = atp_forward(model, atp, model.pixels_from_u8(b["pixels_u8"]), b["img_index"], b["ids"],
                                 b["valid"], b["pos"], b["n_instr"], beta)
        total += kept.mean(1).sum().item()
        n += kept.shape[0]
    return total / n


def calibrate_budget(model, atp, data_dir, keep, n_images=100, steps=12, chunk=25):
    """The budget beta (training/atp.py: t_r = z_r - beta, theta_s = sigmoid(z_s - beta)) at which the mean
    kept fraction on the first `n_images` val images is closest to `keep` (monotone: bisection).
    Returns (beta, fraction at budget 0, fraction at beta)."""
    split = Split(os.path.join(data_dir, "val"))
    ims = split.image_ids[:n_images]
    c = model.config
    P = prefix_len(model)
    batches = [batch_tensors(make_batch(split, ims[s: s + chunk], c.sep_token_id, c.pad_token_id, P))
               for s in range(0, len(ims), chunk)]
    frac = {}  # beta -> kept fraction, each budget evaluated once

    def at(beta):
        if beta not in frac:
            frac[beta] = kept_fraction(model, atp, batches, beta)
        return frac[beta]

    lo, hi = -8.0, 8.0
    for _ in range(steps):
        mid = (lo + hi) / 2
        if at(mid) > keep:
            hi = mid
        else:
            lo = mid
    beta = lo if abs(at(lo) - keep) <= abs(at(hi) - keep) else hi
    return beta, at(0.0), at(beta)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "runs", "atp-stage2", "ckpt.pt"))
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "atp-tiny"))
    ap.add_argument("--data", default=os.path.join(ROOT, "data"))
    ap.add_argument("--fixture-dir", default=os.path.join(ROOT, "test", "fixtures", "atp-tiny"))
    ap.add_argument("--fixtures", action="store_true", help="also the golden fixtures: export.py's and atp.json")
    ap.add_argument("--onnx", action="store_true")
    ap.add_argument("--keep", type=float, default=0.25,
                    help="fold the budget that reaches this mean kept fraction on val into the MLPs' output "
                         "bias (0 = export the thresholds as trained)")
    ap.add_argument("--input", action="store_true",
                    help="export the modules with atp.input: the first decides before layer 0 (from the same "
                         "attention), so the LLM sees only its tokens from layer 0 on")
    ap.add_argument("--merge", action="store_true",
                    help="export the modules with atp.merge: dropped tokens merged into the most similar kept one")
    ap.add_argument("--vision-reduce", default=None,
                    help="LAYER,TOKENS[,MERGE]: calibrate --keep with the engine's vision reduction (default: the "
                         "one the checkpoint trained with, if any; '' for none)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    ck = torch.load(a.ckpt, map_location="cpu")
    model = load_model(a.ckpt)
    atp_cfg = ATPConfig.from_dict(ck["atp_config"])
    atp_cfg.input = atp_cfg.input or a.input  # calibrated, and the fixtures written, as the engine will run it
    atp_cfg.merge = atp_cfg.merge or a.merge
    atp = ATP(atp_cfg, int(round(math.sqrt(model.config.image_seq_length))))
    atp.load_export_state(ck["atp"])
    atp.eval()
    red = a.vision_reduce if a.vision_reduce is not None else (ck.get("args") or {}).get("vision_reduce", "")
    if red:
        atp.vision_reduce = VisionReduction.parse(red)
    calibration = None
    if a.keep > 0:
        beta, before, after = calibrate_budget(model, atp, a.data, a.keep)
        with torch.no_grad():
            for m in atp.modules_:
                m.mlp.fc2.bias -= beta  # z - beta: budget 0 now behaves as budget beta did
        calibration = {"keep": a.keep, "budget": round(beta, 5), "val_keep_trained": round(before, 4),
                       "val_keep_calibrated": round(after, 4)}
        if red:
            calibration["vision"] = atp.vision_reduce.key()
        print(f"ATP thresholds shifted by budget {beta:.4f}: val kept {before:.4f} -> {after:.4f}")
    os.makedirs(a.out, exist_ok=True)
    cfg = model.config.to_dict()
    cfg.update({"torch_dtype": "float32", "_name_or_path": "atp-tiny", "training_step": model.ckpt_step,
                "atp": atp_cfg.to_dict()})
    if calibration:
        cfg["atp_calibration"] = calibration
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    sd = dict(model.state_dict())
    sd.update(atp.export_state())
    st_path = os.path.join(a.out, "model.safetensors")
    write_safetensors(st_path, sd, {"format": "pt", "model": "atp-tiny", "step": str(model.ckpt_step),
                                    "stage": "atp"})
    back = read_safetensors(st_path)
    assert set(back) == set(sd) and all(torch.equal(back[k], sd[k].float()) for k in sd), "safetensors round trip"
    for name in ["tokenizer.json", "tokenizer_config.json"]:
        if os.path.exists(os.path.join(a.data, name)):
            shutil.copy(os.path.join(a.data, name), os.path.join(a.out, name))
    print(f"wrote {st_path}: {len(sd)} tensors ({len(atp.export_state())} ATP)")
    if a.onnx:
        export_onnx(model, os.path.join(a.out, "model.onnx"), 160)
    if not a.fixtures:  # a candidate being evaluated leaves the served model's fixtures alone
        return
    from fixtures import write_fixtures

    atp.vision_reduce = None  # the fixtures are the engine's default path, which runs no vision reduction
    write_fixtures(model, a.data, a.fixture_dir)
    with open(os.path.join(a.fixture_dir, "atp.json"), "w") as f:
        questions = atp_fixture(model, atp, a.data, a.fixture_dir)
        json.dump({"config": atp_cfg.to_dict(), "questions": questions}, f, indent=1)
    print(f"wrote {os.path.join(a.fixture_dir, 'atp.json')}")


if __name__ == "__main__":
    main()
