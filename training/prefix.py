"""Shared-prefix forward: the same maths as `LlavaForConditionalGeneration.forward`, arranged for speed.

The prompt is `<bos> <image>*144 | question <sep> answer <eos>`. Under causal attention the first 145
positions (the "prefix") depend on the image only, so for an image with k questions the vision tower and
the LLM's prefix run once, and their per-layer keys/values are gathered (with gradient) for each question's
suffix, exactly as a KV cache is used in decoding. Training, evaluation and greedy decoding all use it;
test_model.py checks it against the full-prompt forward.
"""

from typing import List, Tuple

import torch

from model import LlavaForConditionalGeneration, causal_bias

NEG = torch.finfo(torch.float32).min


def prefix_len(model: LlavaForConditionalGeneration) -> int:
    return 1 + model.config.image_seq_length  # <bos> + visual tokens


def run_prefix(model: LlavaForConditionalGeneration, pixel_values: torch.Tensor, drop_image: bool = False,
               out=None):
    """pixel_values (N, 3, H, W) -> per-layer [(k, v)] each (N, nkv, P, hd), P = 145 (P = 1, <bos> only,
    with drop_image: the control with every visual token removed from the sequence)."""
    c = model.config
    N = pixel_values.shape[0]
    bos = torch.full((N, 1), c.bos_token_id, dtype=torch.long, device=pixel_values.device)
    x = model.language_model.model.embed_tokens(bos)  # (N, 1, C)
    if not drop_image:
        feats = model.image_features(pixel_values, out)  # (N, 144, C); `out` collects intermediates
        x = torch.cat([x, feats.to(x.dtype)], dim=1)  # (N, P, C)
    P = x.shape[1]
    pos = torch.arange(P, device=x.device)[None].expand(N, P)
    _, past, _ = model.language_model(x, pos, causal_bias(P, device=x.device))
    return past


def suffix_bias(valid: torch.Tensor, P: int) -> torch.Tensor:
    """valid (B, T) bool (False = padding, anywhere) -> (B, 1, T, P + T) additive bias: every prefix key,
    causal over the suffix, padded keys hidden."""
    B, T = valid.shape
    keep = torch.ones(T, T, dtype=torch.bool, device=valid.device).tril()[None] & valid[:, None, :]  # (B, T, T)
    keep = torch.cat([torch.ones(B, T, P, dtype=torch.bool, device=valid.device), keep], dim=2)  # (B, T, P+T)
    eye = torch.eye(T, dtype=torch.bool, device=valid.device)[None]
    keep[:, :, P:] |= eye  # a padded query still sees itself: no all-masked row
    return torch.zeros(B, 1, T, P + T, device=valid.device).masked_fill(~keep[:, None], NEG)


def run_suffix(model, past, img_index: torch.Tensor, ids: torch.Tensor, valid: torch.Tensor,
               pos: torch.Tensor):
    """Suffix tokens of B questions: img_index (B,) into the prefix batch, ids/valid/pos (B, T).
    Returns logits (B, T, V) and the suffix-extended cache [(k, v)] each (B, nkv, P + T, hd)."""
    gathered = [(k.index_select(0, img_index), v.index_select(0, img_index)) for k, v in past]
    P = gathered[0][0].shape[2]
    x = model.language_model.model.embed_tokens(ids)  # (B, T, C)
    logits, present, _ = model.language_model(x, pos, suffix_bias(valid, P), gathered)
    return logits, present


def batch_logits(model, b: dict, out=None) -> torch.Tensor:
    """Logits (B, T, V) of a data.make_batch batch (`pixels_u8`, `img_index`, `ids`, `valid`, `pos`), unpruned;
    `out` collects the prefix's named intermediates."""
    past = run_prefix(model, model.pixels_from_u8(b["pixels_u8"]), out=out)
    return run_suffix(model, past, b["img_index"], b["ids"], b["valid"], b["pos"])[0]


def blind_logits(model, b: dict, rows: torch.Tensor) -> torch.Tensor:
    """Logits (R, T, V) of a make_batch batch's questions `rows` asked without their image: `<bos> question
    <sep> answer`, the no-image control's prompt (text-only examples, as in LLaVA-1.5's training mix)."""
    past = run_prefix(model, model.pixels_from_u8(b["pixels_u8"][:1]), drop_image=True)  # (1, nkv, 1, hd)
    P = past[0][0].shape[2]
    pos = b["pos"].index_select(0, rows) - prefix_len(model) + P
    zeros = torch.zeros(len(rows), dtype=torch.long, device=rows.device)
    return run_suffix(model, past, zeros, b["ids"].index_select(0, rows), b["valid"].index_select(0, rows), pos)[0]


@torch.no_grad()
def greedy_answers(model, pixel_values, img_index, q_ids: List[List[int]], max_new: int = 32,
                   drop_image: bool = False) -> List[List[int]]:
    """Greedy decoding of B questions (their images in pixel_values). q_ids exclude <bos>, image tokens and
    <sep>. Questions are left-padded; position ids count real tokens only, so results equal the unpadded
    full-prompt forward. Returns answer ids per question, without the <eos>."""
    c = model.config
    dev = pixel_values.device
    past = run_prefix(model, pixel_values, drop_image)
    P = past[0][0].shape[2]
    B = len(q_ids)
    seqs = [q + [c.sep_token_id] for q in q_ids]
    T = max(len(s) for s in seqs)
    ids = torch.full((B, T), c.pad_token_id, dtype=torch.long)
    valid = torch.zeros(B, T, dtype=torch.bool)
    for i, s in enumerate(seqs):
        ids[i, T - len(s):] = torch.tensor(s)
        valid[i, T - len(s):] = True
    ids, valid = ids.to(dev), valid.to(dev)
    pos = (P + valid.long().cumsum(1) - 1).clamp_min(P)  # (B, T)
    logits, cache = run_suffix(model, past, img_index, ids, valid, pos)
    nxt = logits[:, -1].argmax(-1)  # (B,)
    next_pos = pos[:, -1] + 1
    out = [[] for _ in range(B)]
    done = torch.zeros(B, dtype=torch.bool, device=dev)
    key_valid = torch.cat([torch.ones(B, P, dtype=torch.bool, device=dev), valid], dim=1)  # (B, S)
    for _ in range(max_new):
        for i in range(B):
            if not done[i] and nxt[i].item() != c.eos_token_id:
                out[i].append(nxt[i].item())
        done |= nxt == c.eos_token_id
        if bool(done.all()):
            break
        key_valid = torch.cat([key_valid, torch.ones(B, 1, dtype=torch.bool, device=dev)], dim=1)
        bias = torch.zeros(B, 1, 1, key_valid.shape[1], device=dev).masked_fill(~key_valid[:, None, None], NEG)
        x = model.language_model.model.embed_tokens(nxt[:, None])  # (B, 1, C)
        logits, cache, _ = model.language_model(x, next_pos[:, None], bias, cache)
        nxt = logits[:, -1].argmax(-1)
        next_pos = next_pos + 1
    return out
