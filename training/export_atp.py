"""Export a stage-2 (ATP) checkpoint: export.py's output plus the ATP tensors and the config's `atp` block.

  cd training && /usr/bin/python3 export_atp.py --ckpt runs/atp-stage2/ckpt.pt

Writes out/atp-tiny/{model.safetensors, config.json, tokenizer.json} like export.py (same f32 safetensors
writer, round-trip checked), with `atp.{k}.mlp.fc1.{weight,bias}`, `atp.{k}.mlp.fc2.{weight,bias}` added
and `"atp": {...}` (training/atp.py ATPConfig) in config.json -- the converter picks both up through
wasm/model/names.ts. Also test/fixtures/atp-tiny/atp.json: for a few test questions, the visual tokens each
module keeps (hard decisions, f32, budget 0) and its thresholds, for the engine's parity test.
Options: --fixtures (also export.py's golden fixtures), --onnx.
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


def atp_fixture(model, atp, data_dir, n_images=3):
    """Per question: ids, per-module kept grid indices and thresholds (f32, straight-through = hard)."""
    split = Split(os.path.join(data_dir, "test"))
    c = model.config
    ims = split.image_ids[:n_images]
    b = batch_tensors(make_batch(split, ims, c.sep_token_id, c.pad_token_id, prefix_len(model)), 145)
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
        out.append({"test_index": qi, "image": q["image"], "family": q["family"], "q_ids": q["q_ids"],
                    "modules": mods, "kept_per_layer": [round(v * c.image_seq_length) for v in kept[r].tolist()]})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "runs", "atp-stage2", "ckpt.pt"))
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "atp-tiny"))
    ap.add_argument("--data", default=os.path.join(ROOT, "data"))
    ap.add_argument("--fixture-dir", default=os.path.join(ROOT, "test", "fixtures", "atp-tiny"))
    ap.add_argument("--fixtures", action="store_true", help="also export.py's golden fixtures")
    ap.add_argument("--onnx", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2)
    ck = torch.load(a.ckpt, map_location="cpu")
    model = load_model(a.ckpt)
    atp_cfg = ATPConfig.from_dict(ck["atp_config"])
    atp = ATP(atp_cfg, int(round(math.sqrt(model.config.image_seq_length))))
    atp.load_export_state(ck["atp"])
    atp.eval()
    os.makedirs(a.out, exist_ok=True)
    cfg = model.config.to_dict()
    cfg.update({"torch_dtype": "float32", "_name_or_path": "atp-tiny", "training_step": model.ckpt_step,
                "atp": atp_cfg.to_dict()})
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
    if a.fixtures:
        from fixtures import write_fixtures

        write_fixtures(model, a.data, a.fixture_dir)
    os.makedirs(a.fixture_dir, exist_ok=True)
    with open(os.path.join(a.fixture_dir, "atp.json"), "w") as f:
        json.dump({"config": atp_cfg.to_dict(), "questions": atp_fixture(model, atp, a.data)}, f, indent=1)
    print(f"wrote {os.path.join(a.fixture_dir, 'atp.json')}")


if __name__ == "__main__":
    main()
