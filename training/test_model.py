"""Self-checks of the reference model (f32, random weights, a few seconds):

  cd training && /usr/bin/python3 test_model.py

1. the shared-prefix forward (prefix.py, used for training and decoding) equals the full-prompt forward;
2. greedy decoding with left padding and a KV cache equals step-by-step full-prompt argmax;
3. the no-image rows of training (prefix.blind_logits) equal the text-only forward of <bos> question;
4. parameter names are the Hugging Face LLaVA/CLIP/Llama names the converter expects.
"""

import torch

from model import LlavaConfig, LlavaForConditionalGeneration, TextConfig, causal_bias
from prefix import blind_logits, greedy_answers, run_prefix, run_suffix

TOL = 1e-4  # f32, same maths reordered (concat of cached k/v, masked padding): only rounding differs


def tiny_model():
    torch.manual_seed(0)
    cfg = LlavaConfig(text_config=TextConfig(vocab_size=40, num_key_value_heads=2))
    m = LlavaForConditionalGeneration(cfg)
    for p in m.parameters():  # larger weights than the init, so attention is far from uniform
        p.data.normal_(0, 0.08)
    return m.eval()


def full_ids(q):
    return torch.tensor([[1] + [3] * 144 + q])


def test_prefix_matches_full():
    m = tiny_model()
    px = torch.randn(2, 3, 96, 96)
    qs = [[10, 11, 12, 4, 20, 2], [13, 4, 21, 22, 2]]
    T = max(map(len, qs))
    ids = torch.zeros(2, T, dtype=torch.long)
    valid = torch.zeros(2, T, dtype=torch.bool)
    for i, q in enumerate(qs):
        ids[i, : len(q)], valid[i, : len(q)] = torch.tensor(q), True
    pos = 145 + torch.arange(T)[None].expand(2, T)
    with torch.no_grad():
        logits, _ = run_suffix(m, run_prefix(m, px), torch.tensor([1, 0]), ids, valid, pos)
        for i, im in enumerate([1, 0]):
            ref = m(px[im: im + 1], full_ids(qs[i]))[0, 145:]
            d = (logits[i, : len(qs[i])] - ref).abs().max().item()
            print(f"prefix vs full, question {i}: max |diff| {d:.2e}")
            assert d < TOL


def test_left_padded_suffix_matches_full():
    """The decoding layout: questions left-padded, positions counting real tokens only."""
    m = tiny_model()
    px = torch.randn(2, 3, 96, 96)
    qs = [[10, 11, 12, 13, 14, 4], [15, 7, 4]]
    T = max(map(len, qs))
    ids = torch.zeros(2, T, dtype=torch.long)
    valid = torch.zeros(2, T, dtype=torch.bool)
    for i, q in enumerate(qs):
        ids[i, T - len(q):], valid[i, T - len(q):] = torch.tensor(q), True
    pos = (145 + valid.long().cumsum(1) - 1).clamp_min(145)
    with torch.no_grad():
        logits, _ = run_suffix(m, run_prefix(m, px), torch.tensor([0, 1]), ids, valid, pos)
        for i, q in enumerate(qs):
            ref = m(px[i: i + 1], full_ids(q))[0, -len(q):]
            d = (logits[i, T - len(q):] - ref).abs().max().item()
            print(f"left-padded vs full, question {i}: max |diff| {d:.2e}")
            assert d < TOL


def test_blind_matches_text_only():
    """Training's no-image rows, laid out as a make_batch batch (right-padded, positions from 145)."""
    m = tiny_model()
    qs = [[10, 11, 12, 4, 20, 2], [13, 4, 21, 22, 2], [14, 15, 4, 23, 2]]
    T = max(map(len, qs))
    ids = torch.zeros(3, T, dtype=torch.long)
    valid = torch.zeros(3, T, dtype=torch.bool)
    for i, q in enumerate(qs):
        ids[i, : len(q)], valid[i, : len(q)] = torch.tensor(q), True
    b = {"pixels_u8": torch.zeros(2, 96, 96, 3, dtype=torch.uint8), "ids": ids, "valid": valid,
         "pos": 145 + torch.arange(T)[None].expand(3, T)}
    rows = torch.tensor([2, 0])
    lm = m.language_model
    with torch.no_grad():
        logits = blind_logits(m, b, rows)
        for r, i in enumerate(rows.tolist()):
            x = lm.model.embed_tokens(torch.tensor([[1] + qs[i]]))
            L = x.shape[1]
            ref = lm(x, torch.arange(L)[None], causal_bias(L))[0][0, 1:]
            d = (logits[r, : len(qs[i])] - ref).abs().max().item()
            print(f"blind vs text-only, question {i}: max |diff| {d:.2e}")
            assert d < TOL


def test_greedy_matches_full():
    m = tiny_model()
    px = torch.randn(2, 3, 96, 96)
    qs = [[10, 11, 12, 13, 14], [15, 7]]  # different lengths: left padding is exercised
    got = greedy_answers(m, px, torch.tensor([0, 1]), qs, max_new=5)
    for i, q in enumerate(qs):
        seq, ref = q + [4], []
        with torch.no_grad():
            for _ in range(5):
                nxt = m(px[i: i + 1], full_ids(seq))[0, -1].argmax().item()
                if nxt == 2:
                    break
                ref.append(nxt)
                seq = seq + [nxt]
        print(f"greedy {i}: cached {got[i]} full {ref}")
        assert got[i] == ref


def test_names():
    names = set(LlavaForConditionalGeneration(LlavaConfig(text_config=TextConfig(vocab_size=8))).state_dict())
    for n in ["vision_tower.vision_model.embeddings.patch_embedding.weight",
              "vision_tower.vision_model.embeddings.position_embedding.weight",
              "vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.bias",
              "vision_tower.vision_model.encoder.layers.3.mlp.fc2.weight",
              "vision_tower.vision_model.post_layernorm.weight", "multi_modal_projector.linear_1.weight",
              "multi_modal_projector.linear_2.bias", "language_model.model.embed_tokens.weight",
              "language_model.model.layers.7.self_attn.o_proj.weight",
              "language_model.model.layers.0.mlp.gate_proj.weight",
              "language_model.model.layers.0.post_attention_layernorm.weight",
              "language_model.model.norm.weight", "language_model.lm_head.weight"]:
        assert n in names, n
    assert not any("patch_embedding.bias" in n or "q_proj.bias" in n and "language" in n for n in names)


if __name__ == "__main__":
    test_names()
    test_prefix_matches_full()
    test_left_padded_suffix_matches_full()
    test_greedy_matches_full()
    test_blind_matches_text_only()
    print("ok")
