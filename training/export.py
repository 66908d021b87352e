"""Export a checkpoint: safetensors (f32, HF names), config, tokenizer, ONNX, golden fixtures.

  cd training && /usr/bin/python3 export.py --ckpt runs/atp-tiny-1/ckpt.pt

Writes out/atp-tiny/{model.safetensors, config.json, tokenizer.json, model.onnx} and, with --fixtures
(default on), test/fixtures/atp-tiny/ (fixtures.py). Relies on no package beyond torch and numpy: the
safetensors file is written by hand (u64 LE header length, JSON header, raw LE bytes).
"""

import argparse
import json
import os
import shutil
import struct

import numpy as np
import torch

from model import LlavaConfig, LlavaForConditionalGeneration

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def write_safetensors(path: str, tensors: dict, metadata: dict):
    """tensors: name -> f32 torch tensor. Header padded with spaces to a multiple of 8 bytes."""
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name].detach().cpu().float().numpy()).astype("<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path: str) -> dict:
    """Inverse of write_safetensors (F32 only); used to verify the export round-trips."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        s, e = h["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[s:e], dtype="<f4").reshape(h["shape"]).copy())
    return out


def load_model(ckpt_path: str, ck: dict = None) -> LlavaForConditionalGeneration:
    """The model of a train.py / train_atp.py checkpoint (`ck`: the checkpoint already loaded from it)."""
    ck = torch.load(ckpt_path, map_location="cpu") if ck is None else ck
    model = LlavaForConditionalGeneration(LlavaConfig.from_dict(ck["config"]))
    model.load_state_dict(ck["model"])
    model.eval()
    model.ckpt_step = ck.get("step")
    return model


class PrefillLogits(torch.nn.Module):
    """ONNX graph: the unpruned model over the full prompt -> logits of every position."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values, input_ids):
        return self.model(pixel_values, input_ids)  # (B, T, V)


def export_onnx(model, path: str, T: int):
    px = torch.zeros(1, 3, 96, 96)
    ids = torch.tensor([[1] + [model.config.image_token_index] * model.config.image_seq_length + [7] * (T - 145)])
    torch.onnx.export(PrefillLogits(model), (px, ids), path, input_names=["pixel_values", "input_ids"],
                      output_names=["logits"], opset_version=17, do_constant_folding=True,
                      dynamic_axes={"pixel_values": {0: "batch"}, "input_ids": {0: "batch", 1: "sequence"},
                                    "logits": {0: "batch", 1: "sequence"}})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "runs", "atp-tiny-1", "ckpt.pt"))
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "atp-tiny"))
    ap.add_argument("--data", default=os.path.join(ROOT, "data"))
    ap.add_argument("--fixtures", default=os.path.join(ROOT, "test", "fixtures", "atp-tiny"))
    ap.add_argument("--no-fixtures", action="store_true")
    ap.add_argument("--no-onnx", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2)
    model = load_model(a.ckpt)
    os.makedirs(a.out, exist_ok=True)
    cfg = model.config.to_dict()
    cfg.update({"torch_dtype": "float32", "_name_or_path": "atp-tiny", "training_step": model.ckpt_step})
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    sd = model.state_dict()
    st_path = os.path.join(a.out, "model.safetensors")
    write_safetensors(st_path, sd, {"format": "pt", "model": "atp-tiny", "step": str(model.ckpt_step)})
    back = read_safetensors(st_path)
    assert set(back) == set(sd) and all(torch.equal(back[k], sd[k].float()) for k in sd), "safetensors round trip"
    for name in ["tokenizer.json", "tokenizer_config.json"]:
        if os.path.exists(os.path.join(a.data, name)):
            shutil.copy(os.path.join(a.data, name), os.path.join(a.out, name))
    n = sum(v.numel() for v in sd.values())
    print(f"wrote {st_path}: {len(sd)} tensors, {n} params, {os.path.getsize(st_path)} bytes")
    if not a.no_onnx:
        onnx_path = os.path.join(a.out, "model.onnx")
        export_onnx(model, onnx_path, 160)
        print(f"wrote {onnx_path}: {os.path.getsize(onnx_path)} bytes")
    if not a.no_fixtures:
        from fixtures import write_fixtures

        write_fixtures(model, a.data, a.fixtures)


if __name__ == "__main__":
    main()
