"""Average stage-2 checkpoints that share one starting point (a "model soup", Wortsman et al., ICML'22).

  cd training && /usr/bin/python3 soup.py --out runs/soup/ckpt.pt runs/served/ckpt.pt runs/atp-stage2y/ckpt.pt ...

Every tensor of the model and of the ATP modules is the plain mean over the inputs. Threshold MLPs whose fc1
reads fewer inputs (modules without the question state, atp.question_state) are widened with zero columns
first, as train_atp.py --init-atp widens them, so they count as modules that ignore the state. The ATP config
of the widest input goes into the soup; export_atp.py then calibrates its thresholds as for any run.
"""

import argparse
import sys

import torch


def widen(v: torch.Tensor, cols: int) -> torch.Tensor:
    if v.dim() == 2 and v.shape[1] < cols:
        return torch.cat([v, torch.zeros(v.shape[0], cols - v.shape[1], dtype=v.dtype)], 1)
    return v


def soup(cks: list) -> dict:
    """cks: loaded checkpoints ({model, atp, config, atp_config?}) -> one with the averaged tensors."""
    if len(cks) < 2:
        raise ValueError("soup: needs two checkpoints or more")
    keys = set(cks[0]["model"])
    for ck in cks[1:]:
        if set(ck["model"]) != keys:
            raise ValueError("soup: the checkpoints hold different models")
    model = {k: sum(ck["model"][k].float() for ck in cks) / len(cks) for k in sorted(keys)}
    widest = max(cks, key=lambda ck: (ck.get("atp_config") or {}).get("num_features", 0))
    atp = {}
    for k, w in widest["atp"].items():
        vs = [widen(ck["atp"][k].float(), w.shape[1] if w.dim() == 2 else 0) for ck in cks]
        if any(v.shape != w.shape for v in vs):
            raise ValueError(f"soup: {k} has shapes {[tuple(v.shape) for v in vs]}")
        atp[k] = sum(vs) / len(vs)
    return {"model": model, "atp": atp, "config": widest["config"], "atp_config": widest.get("atp_config"),
            "step": 0, "from": "soup of " + ", ".join(str(ck.get("from", ck.get("step", "?"))) for ck in cks)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("ckpts", nargs="+")
    a = ap.parse_args(argv)
    cks = [torch.load(p, map_location="cpu") for p in a.ckpts]
    for p, ck in zip(a.ckpts, cks):
        ck["from"] = p
    out = soup(cks)
    torch.save(out, a.out)
    print(f"wrote {a.out}: the mean of {len(cks)} checkpoints")


if __name__ == "__main__":
    sys.exit(main())
