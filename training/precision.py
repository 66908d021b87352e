"""Whether bf16 autocast pays on this device: `autocast(dev)` is the context every training and evaluation
forward runs under.

bf16 autocast is ~15x faster than f32 on a CPU with native bf16 (AMX or AVX512-BF16: Sapphire Rapids),
but ~20x SLOWER on one without (AVX2 only, e.g. the AMD EPYC hosts: a 1024x256x1024 matmul with its
backward, one thread, 30 ms in f32 against 650 ms under autocast), where PyTorch emulates bf16. So
autocast is on for CUDA and for CPUs whose /proc/cpuinfo lists amx_bf16 or avx512_bf16, and off
elsewhere; ATP_AUTOCAST=1 / 0 overrides.
"""

import os

import torch


def cpu_has_bf16() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def use_autocast(dev: str) -> bool:
    env = os.environ.get("ATP_AUTOCAST")
    if env in ("0", "1"):
        return env == "1"
    return str(dev).startswith("cuda") or cpu_has_bf16()


def autocast(dev: str):
    dev_type = "cuda" if str(dev).startswith("cuda") else "cpu"
    return torch.autocast(dev_type, dtype=torch.bfloat16, enabled=use_autocast(dev))
