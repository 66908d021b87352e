"""ATP (adaptive token pruning, docs/method.md) for atp-tiny: the modules, their scores and the masked forward.

A module sits after LLM layer `l` (0-based, config `atp.layers`). From layer l's head-averaged attention
probabilities A it scores every visual token j still alive (alive weights m_j; 1/0 at inference):
  p_i(j)    = A[i, j] m_j / sum_j' A[i, j'] m_j'          query row i's attention over the alive visual keys
  S_self[j] = sum_{i in V} m_i p_i(j)                     self_norm "sum" (the shipped modules)
  S_self[j] = sum_{i >= j} m_i r_i p_i(j) / sum_{i >= j} m_i    self_norm "visible", r_i = sum_{j' <= i} m_j'
              (the keys row i can see): each row's share scaled to what uniform attention gives it, averaged
              over the rows that can see j. In a causal decoder "sum" is H(n) - H(j) under uniform
              attention (~5.6 for the first of 144 tokens, ~0.007 for the last): biased to the first rows;
              "visible" is exactly 1 for every token then (test_atp.py).
  S_cross[j]= n * mean_{t in T} p_t(j)                    T = question tokens + <sep> (never the answer)
  S_r       = (S_self + S_cross) / 2                      importance (redundancy + relevance)
  S_s[j]    = max over SAP grids holding j of 1 - lambda / stride^2, else 0     (spatial, coarser = higher)
A small MLP reads statistics of the scores (`features`) -- with `question_state` also the instruction rows'
mean hidden state where the module decides, RMS-normalised (`question_state`) -- and predicts (z_r, z_s); with the budget knob beta
(0 in training; the engine's `budget`): t_r = z_r - beta, theta_s = sigmoid(z_s - beta), and
  keep j  iff  log S_r[j] > t_r  or  S_s[j] > theta_s                          (hard, docs/method.md)
  M_j = max(sigmoid((log S_r - t_r) tau_r), sigmoid((S_s - theta_s) tau))     (soft, step 7)
Training uses the straight-through mask (hard forward, soft gradient) by default, so the network trains
on exactly what the engine runs; masks of successive modules multiply. The mask multiplies each visual
key's attention weight in every later layer (LlamaAttention's key_mul: exp(logit) * m / sum). With
`merge` a dropped token is first averaged into its most similar kept one (merge_dropped), and a kept key
then weighs as the tokens it stands for (key_mul m * size).

The engine (wasm/pruning/atp.ts) implements the same scores, features and MLP; keep the two in step.
Parameters: `atp.{k}.mlp.fc1.{weight,bias}` [H, F], [H]; `atp.{k}.mlp.fc2.{weight,bias}` [2, H], [2].
"""

import math
from dataclasses import dataclass, field, asdict, fields
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from model import LlavaForConditionalGeneration, rope_cos_sin
from prefix import NEG, suffix_bias

EPS = 1e-6  # inside log(S): a visual token nobody attends to scores log(1e-6) ~ -13.8, not -inf
NUM_FEATURES = 9  # features(): keep in step with wasm/pruning/atp.ts


@dataclass
class ATPConfig:
    layers: List[int] = field(default_factory=lambda: [0, 2, 4])  # after these LLM layers (0-based)
    tau: float = 20.0  # spatial branch temperature: S_s values are ~0.1-0.25 apart
    tau_r: float = 4.0  # importance branch, on log S_r: a factor e^0.5 above the threshold -> sigmoid(2)
    sap_lambda: float = 3.0  # S_s = 1 - lambda * R_s, R_s = 1 / stride^2 (docs/method.md, SAP)
    grid_strides: List[int] = field(default_factory=lambda: [6, 4, 3, 2])  # 12x12 grid: 4, 9, 16, 36 tokens
    mlp_hidden: int = 32
    num_features: int = NUM_FEATURES
    target_keep: float = 0.25  # mean fraction of visual tokens over ALL LLM layers (the paper's counting)
    init_z_r: float = 0.0  # keep tokens above uniform importance at first
    init_z_s: float = 0.85  # sigmoid(0.85) = 0.70: the stride-4 and stride-6 grids at first
    # S_self's normalisation (see the header): "sum" as the shipped modules were trained, "visible" without
    # the causal position bias; a checkpoint without the key was trained with "sum"
    self_norm: str = "sum"
    # what a module does with the tokens it drops: False removes them; True merges each into the kept
    # token most similar to it with proportional attention (merge_dropped; the engine's `merge` knob)
    merge: bool = False
    # where the first module's decision applies: False after layer 0 (the layer runs on every token); True
    # before it, from the same attention (layer 0's, computed on its input), so that the LLM sees only the
    # kept tokens from its first layer on (needs layers[0] == 0; the engine's `input` knob)
    input: bool = False
    # the MLP also reads question_state(): the mean hidden state of the instruction rows (question + <sep>)
    # where the module decides (the LLM's input embeddings for an `input` module), RMS-normalised, after the
    # 9 statistics (num_features = 9 + hidden_size). The statistics alone cannot tell what is asked at the
    # first module (training/README.md); False: statistics only, as the paper's MLP
    question_state: bool = False

    @staticmethod
    def from_dict(d: dict) -> "ATPConfig":
        names = {f.name for f in fields(ATPConfig)}
        return ATPConfig(**{k: v for k, v in d.items() if k in names})

    def to_dict(self) -> dict:
        return asdict(self)


def sap_scores(grid: int, strides: List[int], lam: float) -> torch.Tensor:
    """(grid*grid,) S_s: tokens on the centred stride-s sub-grid score 1 - lam/s^2 (the coarsest wins)."""
    s_s = torch.zeros(grid, grid)
    for s in strides:
        o = ((grid - 1) % s) // 2  # centre the sub-grid
        on = torch.zeros(grid, dtype=torch.bool)
        on[o::s] = True
        cell = on[:, None] & on[None, :]
        s_s = torch.where(cell, torch.maximum(s_s, torch.tensor(1.0 - lam / (s * s))), s_s)
    return s_s.flatten()


def scores(A: torch.Tensor, vis: slice, text_w: torch.Tensor, m: torch.Tensor, self_norm: str = "sum"):
    """A (B, R, S) head-mean probabilities (rows R = keys S here: full sequences); vis: the visual columns
    (and rows); text_w (B, R) 1 on instruction rows; m (B, N) alive weights. -> S_self, S_cross (B, N)."""
    Av = A[:, :, vis] * m[:, None, :]  # (B, R, N)
    p = Av / Av.sum(-1, keepdim=True).clamp_min(1e-30)  # each row's attention over alive visual keys
    n = m.sum(-1, keepdim=True)  # (B, 1)
    pv = p[:, vis, :]  # (B, N, N) visual query rows
    if self_norm == "visible":
        r = m.cumsum(-1)  # (B, N) alive keys each visual row sees (itself included)
        seen = m.flip(-1).cumsum(-1).flip(-1)  # (B, N) alive rows that see each key (i >= j)
        s_self = ((m * r)[:, :, None] * pv).sum(1) / seen.clamp_min(1e-6)
    elif self_norm == "sum":
        s_self = n * (m[:, :, None] * pv).sum(1) / n.clamp_min(1e-6)
    else:
        raise ValueError(f"atp: self_norm must be sum or visible, got {self_norm!r}")
    s_cross = n * (text_w[:, :, None] * p).sum(1) / text_w.sum(-1, keepdim=True).clamp_min(1.0)
    return s_self, s_cross


def features(s_self, s_cross, m):
    """Statistics over alive tokens (weights m) of log scores -> (B, NUM_FEATURES). Detached inputs."""
    n = m.sum(-1, keepdim=True).clamp_min(1e-6)  # (B, 1)

    def mean_std(v):
        mu = (m * v).sum(-1, keepdim=True) / n
        var = (m * (v - mu) ** 2).sum(-1, keepdim=True) / n
        return mu, var.clamp_min(0).sqrt()

    ls, lc = torch.log(s_self + EPS), torch.log(s_cross + EPS)
    lr = torch.log((s_self + s_cross) / 2 + EPS)
    (ms, ss), (mc, sc), (mr, sr) = mean_std(ls), mean_std(lc), mean_std(lr)
    mx = torch.where(m > 0, lr, torch.full_like(lr, math.log(EPS))).max(-1, keepdim=True).values  # none alive: log EPS
    above = (m * (lr > 0).float()).sum(-1, keepdim=True) / n  # fraction of alive tokens above uniform
    frac = m.sum(-1, keepdim=True) / m.shape[-1]  # alive fraction
    return torch.cat([ms, ss, mc, sc, mr, sr, mx, above, frac], dim=-1)


def question_state(x: torch.Tensor, text_w: torch.Tensor) -> torch.Tensor:
    """x (B, S, C) hidden states, text_w (B, S) 1 on the instruction rows -> (B, C) their mean divided by its
    root mean square (eps 1e-6), detached (wasm/pruning/atp.ts questionState)."""
    q = (text_w[..., None] * x.detach().float()).sum(1) / text_w.sum(-1, keepdim=True).clamp_min(1.0)
    return q / (q.pow(2).mean(-1, keepdim=True) + 1e-6).sqrt()


class ThresholdMLP(nn.Module):
    def __init__(self, c: ATPConfig):
        super().__init__()
        self.fc1 = nn.Linear(c.num_features, c.mlp_hidden)
        self.fc2 = nn.Linear(c.mlp_hidden, 2)
        nn.init.normal_(self.fc1.weight, std=0.2)
        nn.init.zeros_(self.fc1.bias)
        nn.init.normal_(self.fc2.weight, std=0.01)
        with torch.no_grad():
            self.fc2.bias.copy_(torch.tensor([c.init_z_r, c.init_z_s]))

    def forward(self, f):
        return self.fc2(F.relu(self.fc1(f)))  # (B, 2): z_r, z_s


class ATPModule(nn.Module):
    """One module: scores -> thresholds -> mask over the N visual tokens."""

    def __init__(self, c: ATPConfig):
        super().__init__()
        self.c = c
        self.mlp = ThresholdMLP(c)

    def forward(self, A, vis, text_w, m, s_s, beta: float = 0.0, straight_through: bool = True, q=None,
                per_patch=None):
        """Returns (M (B, N) this module's mask, info dict). m: alive weights entering (B, N); q (B, C) the
        question_state where the module decides (read when c.question_state); per_patch (B, N): the patches
        each row stands for, to score each row per patch (the first module after a vision reduction, as
        wasm/pruning/atp.ts atpScores `perPatch`), None to score rows as they are."""
        c = self.c
        s_self, s_cross = scores(A.detach(), vis, text_w, m.detach(), c.self_norm)
        if per_patch is not None:
            s = per_patch.detach().to(s_self.dtype).clamp_min(1.0)  # rows that are gone have size 0
            s_self, s_cross = s_self / s, s_cross / s
        f = features(s_self, s_cross, m.detach())
        if c.question_state:
            f = torch.cat([f, q.to(f.dtype)], dim=-1)
        z = self.mlp(f)  # (B, 2)
        t_r = z[:, :1] - beta
        th_s = torch.sigmoid(z[:, 1:] - beta)
        lr = torch.log((s_self + s_cross) / 2 + EPS)  # (B, N)
        soft = torch.maximum(torch.sigmoid((lr - t_r) * c.tau_r), torch.sigmoid((s_s[None] - th_s) * c.tau))
        hard = ((lr > t_r) | (s_s[None] > th_s)).float()
        M = hard + soft - soft.detach() if straight_through else soft
        return M, {"t_r": t_r.detach(), "theta_s": th_s.detach(), "hard": hard}


class ATP(nn.Module):
    """The modules of one model; `state_dict()` keys `{k}.mlp.fc1.weight` export as `atp.{k}.mlp...`."""

    def __init__(self, c: ATPConfig, grid: int):
        super().__init__()
        self.c = c
        self.modules_ = nn.ModuleList([ATPModule(c) for _ in c.layers])
        self.register_buffer("s_s", sap_scores(grid, c.grid_strides, c.sap_lambda), persistent=False)

    def export_state(self) -> dict:
        return {f"atp.{k}": v for k, v in self.modules_.state_dict().items()}

    def load_export_state(self, sd: dict):
        self.modules_.load_state_dict({k[4:]: v for k, v in sd.items() if k.startswith("atp.")})


def shift_spatial(atp: "ATP", d: float):
    """Adds d to every module's z_s bias (train_atp.py --shift-z-s): theta_s = sigmoid(z_s) moves the same way on
    every instance, so a start whose theta_s sits between two SAP levels can be moved above one of them (the
    stride-4 grid's 1 - lambda / 16) and the importance branch left to spend those tokens."""
    with torch.no_grad():
        for mod in atp.modules_:
            mod.mlp.fc2.bias[1] += d


def uniform_grid(grid: int, n: float) -> List[int]:
    """wasm/pruning/select.ts uniformGrid: the rows x cols sub-grid nearest n tokens, centred in each cell."""
    jsround = lambda v: math.floor(v + 0.5)  # Math.round, not Python's half-to-even
    want = max(1, min(grid * grid, jsround(n)))
    rows = max(1, min(grid, jsround(math.sqrt(want))))
    cols = max(1, min(grid, jsround(want / rows)))
    return sorted({((r * 2 + 1) * grid // (2 * rows)) * grid + ((c * 2 + 1) * grid // (2 * cols))
                   for r in range(rows) for c in range(cols)})


def grid_tokens(keep: float, layers: int, n: int, layer: int) -> int:
    """wasm/pruning/grid.ts `keep.knobs`: the grid size after `layer` (-1: before layer 0) whose real count
    lands nearest the count that gives a mean kept fraction `keep` over all `layers` LLM layers."""
    side = int(round(math.sqrt(n)))
    want = (keep * layers - (layer + 1)) * n / (layers - layer - 1)
    return min(range(1, n + 1), key=lambda t: (abs(len(uniform_grid(side, t)) - want), t))


class GridModule(nn.Module):
    """The control: a fixed uniform sub-grid mask, whatever the attention says (the engine's `grid`)."""

    def __init__(self, grid: int):
        super().__init__()
        self.grid = grid
        self.tokens = grid * grid

    def forward(self, A, vis, text_w, m, s_s, beta: float = 0.0, straight_through: bool = True, q=None,
                per_patch=None):
        B, N = m.shape
        M = torch.zeros(B, N, device=m.device)
        M[:, uniform_grid(self.grid, self.tokens)] = 1.0
        return M, {"hard": M}


class GridSelect(nn.Module):
    """atp_forward's `atp` for the grid control (train_atp.py --select grid): one GridModule after `layer`
    (-1: before layer 0, so that the LLM sees only the grid from its first layer on, as ATP with
    ATPConfig.input); `merge` as ATPConfig.merge."""

    def __init__(self, grid: int, layer: int, num_layers: int, merge: bool = False):
        super().__init__()
        self.layer = layer
        self.c = ATPConfig(layers=[max(0, layer)], input=layer < 0, merge=merge)
        self.num_layers = num_layers
        self.modules_ = nn.ModuleList([GridModule(grid)])
        self.register_buffer("s_s", torch.zeros(grid * grid), persistent=False)

    def set_budget(self, keep: float):
        g = self.modules_[0]
        g.tokens = grid_tokens(keep, self.num_layers, g.grid * g.grid, self.layer)

    def export_state(self) -> dict:
        return {}

    def load_export_state(self, sd: dict):
        pass


def merge_dropped(xv: torch.Tensor, alive: torch.Tensor, keep: torch.Tensor, size: torch.Tensor):
    """The engine's merge (wasm/model/decoder.ts mergeDropped, docs/method.md "Merging") on the visual rows.
    xv (B, N, C) hidden states as they stand after the module's layer; alive, keep (B, N) hard 0/1 (keep
    within alive); size (B, N) tokens each row stands for. Each alive dropped row picks the kept row of
    highest cosine similarity (among the rows as they were before any merge; ties to the first) and the
    kept row becomes the size-weighted mean of itself and the rows that picked it; its size is their sum.
    Returns (xv', size'): rows that are not kept are returned unchanged with size 0 (they are gone). The
    assignment carries no gradient; the averaged states do."""
    drop = alive * (1 - keep)
    u = F.normalize(xv.detach().float(), dim=-1)
    sim = (u @ u.transpose(1, 2)).masked_fill(keep[:, None, :] <= 0, float("-inf"))  # (B, drop row, kept row)
    target = sim.argmax(-1)  # (B, N): the first maximum
    W = F.one_hot(target, xv.shape[1]).to(xv.dtype) * drop[..., None].to(xv.dtype)
    W = W + torch.diag_embed(keep.to(xv.dtype))  # (B, src, dst): every kept row stands in for itself
    W = W * size[..., None].to(xv.dtype)
    new_size = W.sum(1)  # (B, N)
    merged = (W.transpose(1, 2) @ xv) / new_size.clamp_min(1e-30)[..., None]
    out = torch.where(keep[..., None] > 0, merged, xv)
    return out, new_size.to(size.dtype) * keep


def full_bias(valid: torch.Tensor, P: int) -> torch.Tensor:
    """valid (B, T) suffix validity -> (B, 1, P+T, P+T) additive causal bias over prefix + suffix."""
    B, T = valid.shape
    S = P + T
    kv = torch.cat([torch.ones(B, P, dtype=torch.bool, device=valid.device), valid], dim=1)  # (B, S)
    keep = torch.ones(S, S, dtype=torch.bool, device=valid.device).tril()[None] & kv[:, None, :]
    keep |= torch.eye(S, dtype=torch.bool, device=valid.device)[None]
    return torch.zeros(B, 1, S, S, device=valid.device).masked_fill(~keep[:, None], NEG)


def atp_forward(model: LlavaForConditionalGeneration, atp: ATP, pixel_values, img_index, ids, valid, pos,
                n_instr, beta: float = 0.0, straight_through: bool = True):
    """Training/eval forward with ATP masks. Prefix (<bos> + visual) shared per image up to the first
    module's layer, then full per-question sequences. ids/valid/pos (B, T) suffix (question, <sep>,
    answer); n_instr (B,) instruction tokens (question + <sep>) at the start of each suffix.
    Returns logits (B, T, V) of the suffix and `kept` (B, L): soft/ST alive count per layer / N."""
    c = model.config
    lm = model.language_model
    layers = lm.model.layers
    L = len(layers)
    N = c.image_seq_length
    hd = c.text_config.hidden_size // c.text_config.num_attention_heads
    first = atp.c.layers[0]
    at_input = getattr(atp.c, "input", False)
    if at_input and first != 0:
        raise ValueError(f"atp: input needs the first module after layer 0, got layers {atp.c.layers}")
    # 1. shared prefix through layers 0..first (at_input: layer 0's attention block alone, on its input)
    Nimg = pixel_values.shape[0]
    bos = torch.full((Nimg, 1), c.bos_token_id, dtype=torch.long, device=ids.device)
    # a vision reduction the model trains with (atp.vision_reduce, training/vision_reduce.py): the rows it
    # reduced stay at their places, masked out of every attention from here on (alive0), and a merged row
    # weighs as the patches it stands for (size0)
    red = getattr(atp, "vision_reduce", None)
    if red is not None:
        if not at_input:
            raise ValueError("atp: a vision reduction needs the first module at the LLM input (input)")
        from vision_reduce import reduced_image_features
        feats, alive0, size0 = reduced_image_features(model, pixel_values, red)
    else:
        feats, alive0, size0 = model.image_features(pixel_values), None, None
    xp = torch.cat([lm.model.embed_tokens(bos), feats.to(lm.model.embed_tokens.weight.dtype)], 1)
    P = xp.shape[1]
    pos_p = torch.arange(P, device=ids.device)[None].expand(Nimg, P)
    cos_p, sin_p = rope_cos_sin(pos_p, hd, c.text_config.rope_theta)
    from model import causal_bias
    bias_p = causal_bias(P, device=ids.device)
    xs = lm.model.embed_tokens(ids)  # (B, T, C)
    cos_s, sin_s = rope_cos_sin(pos, hd, c.text_config.rope_theta)
    bias_s = suffix_bias(valid, P)
    if at_input:
        l0 = layers[0]
        kmul_p = kmul_s = None
        if red is not None:
            kmul_p = torch.cat([torch.ones(Nimg, 1, device=ids.device), size0], 1)[:, None, None, :]  # (Nimg, 1, 1, P)
            kmul_s = torch.cat([kmul_p.index_select(0, img_index),
                                torch.ones(ids.shape[0], 1, 1, ids.shape[1], device=ids.device)], -1)
        _, kv, probs_p = l0.self_attn(l0.input_layernorm(xp), cos_p, sin_p, bias_p, None, kmul_p)
        past = (kv[0].index_select(0, img_index), kv[1].index_select(0, img_index))
        _, _, probs_s = l0.self_attn(l0.input_layernorm(xs), cos_s, sin_s, bias_s, past, kmul_s)
    for l in range(0 if at_input else first + 1):
        xp_new, kv, probs_p = layers[l](xp, cos_p, sin_p, bias_p)
        past = (kv[0].index_select(0, img_index), kv[1].index_select(0, img_index))
        xs, _, probs_s = layers[l](xs, cos_s, sin_s, bias_s, past)
        xp = xp_new
    # 2. per-question full sequences from here on
    B, T = ids.shape
    x = torch.cat([xp.index_select(0, img_index), xs], dim=1)  # (B, P+T, C)
    S = P + T
    pos_f = torch.cat([torch.arange(P, device=ids.device)[None].expand(B, P), pos], dim=1)
    cos_f, sin_f = rope_cos_sin(pos_f, hd, c.text_config.rope_theta)
    bias_f = full_bias(valid, P)
    vis = slice(1, 1 + N)
    ar = torch.arange(T, device=ids.device)[None]
    text_w = torch.cat([torch.zeros(B, P, device=ids.device), (ar < n_instr[:, None]).float()], dim=1)  # (B, S)
    # the first module's attention: prefix rows (per image) and suffix rows (per question), head mean
    A_p = probs_p.mean(1).index_select(0, img_index)  # (B, P, P)
    A_s = probs_s.mean(1)  # (B, T, P+T)
    A = torch.cat([F.pad(A_p, (0, T)), A_s], dim=1)  # (B, S, S)
    m = torch.ones(B, N, device=ids.device) if red is None else alive0.index_select(0, img_index)
    # tokens each visual row stands for (merging)
    size = torch.ones(B, N, device=ids.device) if red is None else size0.index_select(0, img_index)
    merge = getattr(atp.c, "merge", False)
    start = 0 if at_input else first + 1  # the first layer that runs per question
    kept = [torch.ones(B, device=ids.device) for _ in range(start)]
    mods = iter(enumerate(atp.c.layers))
    k, at = next(mods)
    info = []
    for l in range(start, L + 1):
        # module k after layer `at` (module 0 before layer 0 at_input): its attention is A
        if k is not None and l == (0 if at_input and k == 0 else at + 1):
            q = question_state(x, text_w) if getattr(atp.c, "question_state", False) else None
            # the first module was trained on rows of one patch each: after a vision reduction it scores
            # the merged rows per patch (the engine's atpScores perPatch)
            per_patch = size if k == 0 and red is not None else None
            M, inf = atp.modules_[k](A, vis, text_w, m, atp.s_s, beta, straight_through, q, per_patch)
            if merge:
                if not straight_through:
                    raise ValueError("atp: merging needs hard decisions (straight-through masks)")
                alive = (m.detach() > 0.5).float()
                xv, size = merge_dropped(x[:, vis], alive, inf["hard"] * alive, size)
                x = torch.cat([x[:, :1], xv, x[:, 1 + N:]], dim=1)
            m = m * M
            info.append(inf)
            k, at = next(mods, (None, -1))
        if l == L:
            break
        kept.append(m.sum(-1) / N)
        # a merged key weighs as the tokens it stands for (proportional attention: exp(logit) * size)
        vis_mul = m * size if merge or red is not None else m
        key_mul = torch.cat([torch.ones(B, 1, device=ids.device), vis_mul, torch.ones(B, S - 1 - N, device=ids.device)],
                            dim=1)[:, None, None, :]  # (B, 1, 1, S)
        x, _, probs = layers[l](x, cos_f, sin_f, bias_f, None, key_mul)
        if l == at:
            A = probs.mean(1)  # (B, S, S)
    x = lm.model.norm(x[:, P:])
    return lm.lm_head(x), torch.stack(kept, dim=1), info


def budget_gap(kept: torch.Tensor, target: float, flat_from: Optional[int] = None) -> torch.Tensor:
    """kept (B, L) -> the budget constraint's gap(s), batch means minus their target: one value (the mean over
    all layers minus `target`), or with `flat_from` (the first layer a module prunes) one per layer l >=
    flat_from, the batch mean of kept_l minus f, f the one level for those layers that gives the same mean
    over all L (a flat schedule: late layers are not starved). Only batch means are held: how the kept share
    spreads over the instances of a batch is left to the answer loss."""
    L = kept.shape[1]
    if flat_from is None:
        return (kept.mean() - target).reshape(1)
    return kept[:, flat_from:].mean(0) - flat_level(L, target, flat_from)


def flat_level(L: int, target: float, flat_from: int) -> float:
    """The one kept share of layers flat_from..L-1 (the earlier ones whole) whose mean over all L is target."""
    return (L * target - flat_from) / (L - flat_from)


def budget_losses(kept: torch.Tensor, target: float, flat_from: Optional[int] = None):
    """kept (B, L) fraction alive entering each layer -> (depth-weighted penalty, budget term).
    Depth weights w_l = 2 (l + 1) / (L + 1) average 1: keeping a token deep costs more (docs/method.md, Training).
    The budget term is the mean absolute budget_gap (an L1 penalty; train_atp.py --budget lagrange holds the
    same gaps with multipliers instead)."""
    L = kept.shape[1]
    w = torch.arange(1, L + 1, device=kept.device, dtype=kept.dtype) * 2 / (L + 1)
    depth = (kept * w).mean()
    return depth, budget_gap(kept, target, flat_from).abs().mean()


def scene_targets(n_objects: torch.Tensor, level: float, k: float,
                  weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The scene prior's per-instance kept shares (train_atp.py --scene-prior K): level * (K + n_i) / mean_j(K + n_j)
    over the batch, so that their batch mean is the flat level the budget term holds and a scene of n objects is
    given (K + n) / (K + 1) times what a scene of one object gets (K = 6: 2x from 1 to 8 objects). With `weight`
    (B,), each instance's (K + n_i) is also multiplied by its question family's weight (--family-weight: count
    and caption above colour and shape), the batch mean still the level. The object count and the family are
    the generator's labels, seen only in training: at inference the modules must read the scene's busyness from
    their score statistics and the question from its state."""
    w = k + n_objects.float()
    if weight is not None:
        w = w * weight.to(w.dtype)
    return level * w / w.mean()


def scene_loss(kept: torch.Tensor, targets: torch.Tensor, flat_from: int,
               img_index: Optional[torch.Tensor] = None) -> torch.Tensor:
    """kept (B, L), targets (B,) -> mean over instances and the layers from flat_from of |kept - target|: the
    per-instance term of the scene prior (an L1 penalty, as the served budget term). With img_index (B,), the
    image of each instance (train_atp.py --scene-by-image), the term holds each image's mean share over its
    questions instead, so the scene sets how much an image keeps and the question stays free to move tokens
    between its questions (count and caption more than colour and shape)."""
    gap = kept[:, flat_from:] - targets[:, None].to(kept.dtype)  # (B, L')
    if img_index is None:
        return gap.abs().mean()
    count = torch.bincount(img_index)  # an image whose questions were all filtered out has none
    seen = count > 0
    per_image = torch.zeros(len(count), gap.shape[1], device=gap.device, dtype=gap.dtype).index_add_(0, img_index, gap)
    return (per_image[seen] / count[seen, None].to(gap.dtype)).abs().mean()


class BudgetMultipliers:
    """The budget as a constraint held by dual ascent (train_atp.py --budget lagrange): for gaps g (budget_gap)
    the term is mean(mu g + rho / 2 g^2), and after each step mu += dual_lr * g. At the target the term's
    gradient is mu alone, the same for every instance of the batch, so unlike the L1 penalty (whose gradient
    is +-lambda, flipping with the sign of the gap) it does not shake the thresholds, and the answer loss
    decides which instances keep more."""

    def __init__(self, n: int, dual_lr: float, rho: float):
        self.mu = torch.zeros(n)
        self.dual_lr, self.rho = dual_lr, rho

    def term(self, gap: torch.Tensor) -> torch.Tensor:
        mu = self.mu.to(gap.device, gap.dtype)
        return (mu * gap + 0.5 * self.rho * gap * gap).mean()

    def update(self, gap: torch.Tensor):
        self.mu = self.mu + self.dual_lr * gap.detach().float().cpu()

    def state(self) -> dict:
        return {"mu": self.mu.tolist(), "dual_lr": self.dual_lr, "rho": self.rho}

    @staticmethod
    def from_state(d: dict) -> "BudgetMultipliers":
        b = BudgetMultipliers(len(d["mu"]), d["dual_lr"], d["rho"])
        b.mu = torch.tensor(d["mu"])
        return b
