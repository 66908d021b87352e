"""A stage-1 style checkpoint from the served weights, so that a new stage starts from the original model.

  npm run unpack                                  # weights/ -> out/served/{model.safetensors,config.json,...}
  cd training && /usr/bin/python3 import_served.py --src ../out/served --out runs/served/ckpt.pt

The served model is the int8 one users get (its unpruned accuracy is the yardstick every pruning result is
judged against); unpacking dequantizes its Linear weights (q * s), so this checkpoint computes what the
engine computes up to the engine's int8 activations. The served ATP threshold MLPs (`atp.*`) are kept apart
in the checkpoint's `atp` entry: stage 2 (train_atp.py) trains fresh ones for its own `atp` config unless
`--init-atp` asks it to start from these (continuing the served stage 2). Checks that every model parameter comes
from the file with its shape and that nothing but `atp.*` is left over.
"""

import argparse
import json
import os

import torch

from export import read_safetensors
from model import LlavaConfig, LlavaForConditionalGeneration


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=os.path.join("..", "out", "served"))
    ap.add_argument("--out", default=os.path.join("runs", "served", "ckpt.pt"))
    a = ap.parse_args(argv)
    with open(os.path.join(a.src, "config.json")) as f:
        cfg = LlavaConfig.from_dict(json.load(f))
    model = LlavaForConditionalGeneration(cfg)
    tensors = read_safetensors(os.path.join(a.src, "model.safetensors"))
    want = model.state_dict()
    missing = [k for k in want if k not in tensors]
    extra = [k for k in tensors if k not in want and not k.startswith("atp.")]
    if missing or extra:
        raise SystemExit(f"import_served: missing {missing[:5]}, unexpected {extra[:5]}")
    sd = {k: tensors[k].reshape(v.shape) if tensors[k].numel() == v.numel() else None for k, v in want.items()}
    bad = [k for k, v in sd.items() if v is None]
    if bad:
        raise SystemExit(f"import_served: wrong sizes for {bad[:5]}")
    model.load_state_dict(sd)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    atp = {k: v for k, v in tensors.items() if k.startswith("atp.")}
    torch.save({"model": model.state_dict(), "config": cfg.to_dict(), "step": 0, "from": "served", "atp": atp},
               a.out + ".tmp")
    os.replace(a.out + ".tmp", a.out)
    print(f"{a.out}: {sum(v.numel() for v in sd.values())} parameters from {a.src}")


if __name__ == "__main__":
    main()
