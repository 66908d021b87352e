"""Training-throughput benchmark on random tensors (no data needed): picks the model dims.

  /usr/bin/python3 training/bench.py --configs 128x4:192x8,128x4:256x8 --steps 4

Each config is VISIONxLAYERS:TEXTxLAYERS. A step = forward + backward + AdamW on `--images` images with
`--qpi` questions each (shared prefix, as train.py) and a suffix of `--suffix` tokens; bf16 autocast on CPU.
Also times the plain full-prompt forward (no prefix sharing) for the first config, for comparison.
"""

import argparse
import time

import torch
import torch.nn.functional as F

from model import LlavaConfig, LlavaForConditionalGeneration, TextConfig, VisionConfig
from prefix import run_prefix, run_suffix


def build(spec: str, vocab: int) -> LlavaForConditionalGeneration:
    v, t = spec.split(":")
    cv, lv = map(int, v.split("x"))
    ct, lt = map(int, t.split("x"))
    inter = ((ct * 8 // 3) + 63) // 64 * 64
    cfg = LlavaConfig(vision_config=VisionConfig(hidden_size=cv, intermediate_size=4 * cv, num_hidden_layers=lv),
                      text_config=TextConfig(vocab_size=vocab, hidden_size=ct, intermediate_size=inter,
                                             num_hidden_layers=lt))
    return LlavaForConditionalGeneration(cfg)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="128x4:192x8,128x4:256x8")
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--qpi", type=int, default=4)
    ap.add_argument("--suffix", type=int, default=20)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--full", action="store_true", help="also time the full-prompt forward")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    V = 64
    for i, spec in enumerate(a.configs.split(",")):
        m = build(spec, V)
        n = sum(p.numel() for p in m.parameters())
        opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
        N, B, T = a.images, a.images * a.qpi, a.suffix
        px = torch.randn(N, 3, 96, 96)
        idx = torch.arange(N).repeat_interleave(a.qpi)
        ids = torch.randint(6, V, (B, T))
        valid = torch.ones(B, T, dtype=torch.bool)
        pos = 145 + torch.arange(T)[None].expand(B, T)

        def step():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                past = run_prefix(m, px)
                logits, _ = run_suffix(m, past, idx, ids, valid, pos)
            loss = F.cross_entropy(logits.float().reshape(-1, V), ids.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        step()
        t0 = time.time()
        for _ in range(a.steps):
            step()
        dt = (time.time() - t0) / a.steps
        print(f"{spec}: {n / 1e6:.2f}M params, {dt * 1000:.0f} ms/step, {B / dt:.1f} questions/s, "
              f"{N / dt:.1f} images/s (shared prefix, {a.qpi} q/img, suffix {T})", flush=True)
        if a.full and i == 0:
            full_ids = torch.cat([torch.full((B, 1), 1), torch.full((B, 144), 3), ids], 1)
            pxb = px[idx]

            def fstep():
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    logits = m(pxb, full_ids)
                loss = F.cross_entropy(logits[:, 145:].float().reshape(-1, V), ids.reshape(-1))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

            fstep()
            t0 = time.time()
            for _ in range(a.steps):
                fstep()
            dt = (time.time() - t0) / a.steps
            print(f"{spec}: full-prompt forward {dt * 1000:.0f} ms/step, {B / dt:.1f} questions/s", flush=True)


if __name__ == "__main__":
    main()
