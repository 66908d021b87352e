"""Keep freed tensor memory in the process instead of handing it back to the kernel after every step.

glibc serves allocations above its mmap threshold (at most 32 MiB) with a fresh mmap and unmaps them on
free; a training step here allocates attention and activation tensors of 30-60 MB and frees them again, so
every step page-faults and zeroes that memory anew. Measured on the 2-vCPU AMD EPYC of 3 Dec
(`train_atp.py`, 2 threads, bf16 autocast): 5.3 s/step with a third of the CPU time in the kernel, against
2.0 s/step and no system time with mmap off and trimming off (training/README.md). `tune()` sets the same
three glibc parameters as MALLOC_MMAP_MAX_=0, MALLOC_TRIM_THRESHOLD_ (2 GiB) and MALLOC_TOP_PAD_ (1 GiB) in
the environment would (the run above was measured with those, trimming at 100 GB); the price is that the process keeps its peak heap until it exits. ATP_MALLOC=0 skips it.
"""

import ctypes
import ctypes.util
import os

# mallopt parameters from glibc's malloc.h
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_MAX = -4


def tune() -> bool:
    """True when glibc took the settings; False elsewhere (another libc, or ATP_MALLOC=0)."""
    if os.environ.get("ATP_MALLOC") == "0":
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(M_MMAP_MAX, 0) == 1
    ok = mallopt(M_TRIM_THRESHOLD, 2**31 - 1) == 1 and ok
    return mallopt(M_TOP_PAD, 1 << 30) == 1 and ok
