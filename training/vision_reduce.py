"""The engine's token reduction inside the vision encoder, for training with it (wasm/pruning/vision.ts,
wasm/model/vision.ts; docs/cost.md "the vision path").

After encoder layer `layer` the patches are reduced to `tokens` by the engine's windowed bipartite matching
on that layer's keys (`vision_plan`, a port of `visionPlan`: rounds of A/B alternation in raster order, each
A row's most similar B row by key cosine within a radius that grows by one each round, the most similar
pairs merged first). With `merge` each matched patch is averaged into its partner, weighted by the patches
each stands for, and every later attention (the remaining encoder layers and the LLM) weighs that key by the
patches it stands for (proportional attention); without it the matched patches are dropped. Here the rows
stay at their 144 places and a reduced row is masked out of every later attention, which computes what the
engine computes on the kept rows alone. The plan itself is not differentiated (the engine's is a discrete
choice); the merged rows are, through the merge weights.
"""

from dataclasses import dataclass
from typing import List, Tuple

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class VisionReduction:
    layer: int
    tokens: int
    merge: bool = True

    @staticmethod
    def parse(s: str) -> "VisionReduction":
        """"LAYER,TOKENS[,MERGE]" as `npm run eval -- --vision` takes it."""
        parts = [int(p) for p in s.split(",")]
        if len(parts) not in (2, 3):
            raise ValueError(f"vision reduction: want LAYER,TOKENS[,MERGE], got {s!r}")
        return VisionReduction(parts[0], parts[1], bool(parts[2]) if len(parts) == 3 else False)

    def key(self) -> str:
        return f"{self.layer},{self.tokens},{int(self.merge)}"


def vision_plan(keys: np.ndarray, tokens: int, grid: int) -> Tuple[List[int], List[int], List[int]]:
    """keys (n, d) of an n = grid x grid patch grid -> (kept rows ascending, dropped rows in merge order, the
    row each merges into), as wasm/pruning/vision.ts visionPlan decides (float64; its sums in the same
    order, so the same plan up to exact ties)."""
    n, d = keys.shape
    if grid * grid != n:
        raise ValueError(f"vision_plan: {n} rows are not a {grid} x {grid} grid")
    key = keys.astype(np.float64).copy()
    size = np.ones(n)

    def unit_of(v):
        s = float(np.sum(v * v))
        return v * (1.0 / np.sqrt(s)) if s > 0 else v * 0.0

    unit = np.stack([unit_of(key[r]) for r in range(n)])
    alive = list(range(n))
    dropped: List[int] = []
    into: List[int] = []
    target = max(1, min(n, tokens))
    radius = 1
    while len(alive) > target:
        A = alive[0::2]
        in_b = np.zeros(n, dtype=bool)
        in_b[alive[1::2]] = True
        best = []
        for a in A:
            ra, ca = divmod(a, grid)
            bi, bs = -1, -np.inf
            for y in range(max(0, ra - radius), min(grid - 1, ra + radius) + 1):
                for x in range(max(0, ca - radius), min(grid - 1, ca + radius) + 1):
                    b = y * grid + x
                    if not in_b[b]:
                        continue
                    s = float(np.dot(unit[a], unit[b]))
                    if s > bs:
                        bs, bi = s, b
            if bi >= 0:
                best.append((a, bi, bs))
        best.sort(key=lambda t: (-t[2], t[0]))
        gone = set()
        for a, b, _ in best[: min(len(best), len(alive) - target)]:
            t = size[a] + size[b]
            key[b] = (size[b] * key[b] + size[a] * key[a]) / t
            size[b] = t
            unit[b] = unit_of(key[b])
            dropped.append(a)
            into.append(b)
            gone.add(a)
        alive = [r for r in alive if r not in gone]
        radius += 1
    return alive, dropped, into


def merge_weights(n: int, dropped: List[int], into: List[int], merge: bool) -> Tuple[np.ndarray, np.ndarray]:
    """(W (n, n), sizes (n,)): row k of W @ x is what wasm/model/vision.ts reduceRows leaves in row k after
    applying the merges in order (identity rows when `merge` is off: the dropped rows simply go)."""
    W = np.eye(n)
    size = np.ones(n)
    if merge:
        for d, k in zip(dropped, into):
            t = size[k] + size[d]
            W[k] = (size[k] / t) * W[k] + (size[d] / t) * W[d]
            size[k] = t
    return W, size


def clip_layer(layer, x: torch.Tensor, key_mul=None):
    """training/model.py CLIPEncoderLayer with each key weighed by key_mul (B, N) (0: masked out; a merged
    row's patch count: proportional attention; None: every key as it is). Returns (x, the layer's keys
    (B, N, C) before the head split: what the reduction matches on)."""
    at = layer.self_attn
    h = layer.layer_norm1(x)
    B, T, C = h.shape
    keys = at.k_proj(h)
    q = at.q_proj(h).view(B, T, at.n_head, at.head_dim).transpose(1, 2)
    k = keys.view(B, T, at.n_head, at.head_dim).transpose(1, 2)
    v = at.v_proj(h).view(B, T, at.n_head, at.head_dim).transpose(1, 2)
    att = (q @ k.transpose(-2, -1)) * (1.0 / (at.head_dim ** 0.5))
    probs = F.softmax(att.float(), dim=-1)
    if key_mul is not None:
        probs = probs * key_mul[:, None, None, :].float()
        probs = probs / probs.sum(-1, keepdim=True).clamp_min(1e-30)
    y = (probs.to(v.dtype) @ v).transpose(1, 2).reshape(B, T, C)
    x = x + at.out_proj(y)
    return x + layer.mlp(layer.layer_norm2(x)), keys


def reduced_image_features(model, pixel_values: torch.Tensor, red: VisionReduction):
    """model.image_features with the reduction: (features (B, N, Ct) at the N patch places, alive (B, N) 1
    where a row survives, size (B, N) the patches each alive row stands for, 0 elsewhere)."""
    c = model.config
    vm = model.vision_tower.vision_model
    layers = vm.encoder.layers
    if c.vision_feature_layer != -1:
        raise ValueError("vision reduction: needs vision_feature_layer -1 (every encoder layer runs)")
    if not 0 <= red.layer < len(layers) - 1:
        raise ValueError(f"vision reduction: layer must be below {len(layers) - 1}")
    x = vm.embeddings(pixel_values)
    B, N, _ = x.shape
    grid = int(round(N ** 0.5))
    alive = torch.ones(B, N, device=x.device)
    size = torch.ones(B, N, device=x.device)
    key_mul = None
    for i, layer in enumerate(layers):
        x, k = clip_layer(layer, x, key_mul)
        if i == red.layer:
            keys = k.detach().double().cpu().numpy()
            Ws, sizes, masks = [], [], []
            for b in range(B):
                kept, dropped, into = vision_plan(keys[b], red.tokens, grid)
                W, s = merge_weights(N, dropped, into, red.merge)
                m = np.zeros(N)
                m[kept] = 1
                Ws.append(W)
                sizes.append(s * m)
                masks.append(m)
            # in f32 (autocast off: it would run the product in bf16): the residual stream stays f32, as
            # the layers' own adds leave it under bf16 autocast
            W = torch.tensor(np.stack(Ws), dtype=torch.float32, device=x.device)
            with torch.autocast(x.device.type, enabled=False):
                x = W @ x.float()
            alive = torch.tensor(np.stack(masks), dtype=torch.float32, device=x.device)
            size = torch.tensor(np.stack(sizes), dtype=torch.float32, device=x.device)
            key_mul = size if red.merge else alive
    if c.vision_feature_post_layernorm:
        x = vm.post_layernorm(x)
    return model.multi_modal_projector(x), alive, size
