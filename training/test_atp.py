"""Self-checks of the ATP training forward (f32, random weights, seconds):

  cd training && /usr/bin/python3 test_atp.py

1. with every token kept (beta = +100) atp_forward equals the plain full-prompt forward;
2. with hard masks it equals a forward where the dropped visual tokens are physically removed from the
   sequence after their module's layer (original position ids kept) -- what the engine does;
3. the kept fraction grows with the budget knob beta (monotone), and the SAP grid scores are as documented;
4. under uniform causal attention S_self is 1 for every token with self_norm "visible" (no position bias),
   H(n) - H(j) with "sum", also with dropped tokens;
5. with `merge` the forward equals the engine's merge done row by row on the shortened sequence
   (wasm/model/decoder.ts mergeDropped: most similar kept token, size-weighted mean, log(size) on the keys);
6. the grid control (train_atp.py --select grid) keeps the engine's uniform grid (wasm/pruning/select.ts,
   grid.ts: same sizes and indices) and its forward equals the one with those tokens removed;
7. with `input` module 0 decides from the same attention as after layer 0 and its tokens are removed (or
   merged) before layer 0 runs, as the engine's probe (wasm/model/decoder.ts prefillBegin);
8. with `question_state` the MLP reads the instruction rows' mean hidden state (RMS-normalised) where the module
   decides: zero weights on it give the statistics-only thresholds, nonzero ones differ per question;
9. the budget terms hold batch means only (flat and mean schedules), and the multipliers of --budget lagrange
   move the kept share to the target where the L1 penalty's gradient would only flip sign;
10. --shift-z-s (atp.shift_spatial) lifts theta_s on every instance: the fixed spatial grid goes from the
   stride-6, -4 grids' 13 tokens to the stride-6 grid's 4.
11. the vision reduction (vision_reduce.py, train_atp.py --vision-reduce): the plan keeps `tokens` patches and
   accounts for every other one; the masked features equal the engine's way (merges row by row, the kept rows
   closed up, the later encoder layers on them alone with log(size) on the keys); atp_forward starts from
   those rows only (no module can keep more).
"""

import torch

from atp import NUM_FEATURES, ATP, ATPConfig, BudgetMultipliers, question_state, GridSelect, atp_forward, budget_gap, budget_losses, grid_tokens, scene_loss, scene_targets, sap_scores, scores, shift_spatial, uniform_grid
from model import LlavaConfig, LlavaForConditionalGeneration, TextConfig, rope_cos_sin

TOL = 2e-4  # f32, same maths (masked softmax renormalised vs keys removed): rounding only


def tiny():
    torch.manual_seed(0)
    m = LlavaForConditionalGeneration(LlavaConfig(text_config=TextConfig(vocab_size=40, num_key_value_heads=2)))
    for p in m.parameters():
        p.data.normal_(0, 0.08)
    atp = ATP(ATPConfig(), 12)
    for p in atp.parameters():
        p.data.normal_(0, 0.3)
    return m.eval(), atp.eval()


def batch():
    qs = [[10, 11, 12, 4, 20, 2], [13, 14, 4, 21, 22, 2]]
    T = 6
    ids = torch.tensor(qs)
    valid = torch.ones(2, T, dtype=torch.bool)
    pos = 145 + torch.arange(T)[None].expand(2, T)
    n_instr = torch.tensor([4, 3])
    return torch.randn(1, 3, 96, 96), torch.tensor([0, 0]), ids, valid, pos, n_instr


def removed_forward(m, px, q, kept_sets, layers_at, merge=False):
    """Full prompt, visual rows dropped after layer `at` of each module (-1: before layer 0; kept_sets[k]:
    grid indices). With `merge`, as the engine's mergeDropped (wasm/model/decoder.ts): each dropped row first
    averaged into its most similar kept row, one at a time, weighted by sizes, and log(size) added to every
    later key's logits."""
    lm = m.language_model
    ids = torch.tensor([[1] + [3] * 144 + q])
    x = m.embed(ids, m.image_features(px))  # (1, T, C)
    pos = torch.arange(ids.shape[1])[None]
    grid = torch.tensor([-1] + list(range(144)) + [-1] * len(q))
    size = torch.ones(ids.shape[1])

    def drop_after(l, x, pos, grid, size):
        if l not in layers_at:
            return x, pos, grid, size
        T = x.shape[1]
        keep = set(kept_sets[layers_at.index(l)])
        if merge:
            kept_rows = [r for r in range(T) if grid[r] >= 0 and int(grid[r]) in keep]
            drop_rows = [r for r in range(T) if grid[r] >= 0 and int(grid[r]) not in keep]
            unit = lambda r: x[0, r] / x[0, r].norm()
            targets = [max(kept_rows, key=lambda k: (float(unit(d) @ unit(k)), -k)) for d in drop_rows]
            x = x.clone()
            for d, k in zip(drop_rows, targets):
                total = size[k] + size[d]
                x[0, k] = (size[k] * x[0, k] + size[d] * x[0, d]) / total
                size[k] = total
        rows = [r for r in range(T) if grid[r] < 0 or int(grid[r]) in keep]
        return x[:, rows], pos[:, rows], grid[rows], size[rows]

    x, pos, grid, size = drop_after(-1, x, pos, grid, size)
    for l, layer in enumerate(lm.model.layers):
        T = x.shape[1]
        cos, sin = rope_cos_sin(pos, 48, 10000.0)
        bias = torch.zeros(T, T).masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), -1e30)[None, None]
        x, _, _ = layer(x, cos, sin, bias + size.log())
        x, pos, grid, size = drop_after(l, x, pos, grid, size)
    return lm.lm_head(lm.model.norm(x))[0, -len(q):]


@torch.no_grad()
def test_keep_all_equals_plain():
    m, atp = tiny()
    px, idx, ids, valid, pos, n_instr = batch()
    logits, kept, _ = atp_forward(m, atp, px, idx, ids, valid, pos, n_instr, beta=100.0)
    for b in range(2):
        full = m(px, torch.tensor([[1] + [3] * 144 + ids[b].tolist()]))[0, 145:]
        assert (logits[b] - full).abs().max() < TOL
    assert torch.allclose(kept, torch.ones_like(kept))


def check_against_removal(merge, at_input=False):
    """The hard-masked forward equals removing (merge: merging) the dropped tokens row by row (at_input:
    module 0's before layer 0)."""
    m, atp = tiny()
    atp.c.merge = merge
    atp.c.input = at_input
    px, idx, ids, valid, pos, n_instr = batch()
    # at_input: a lower budget, so that these random modules' first one prunes too
    beta = -1.0 if at_input else 0.0
    logits, kept, info = atp_forward(m, atp, px, idx, ids, valid, pos, n_instr, beta=beta)
    layers_at = [-1] + atp.c.layers[1:] if at_input else atp.c.layers
    for b in range(2):
        alive = torch.ones(144)
        sets = []
        for inf in info:
            alive = alive * inf["hard"][b]
            sets.append(torch.nonzero(alive).flatten().tolist())
        assert 0 < len(sets[-1]) < 144, "the random modules should prune something"
        want = removed_forward(m, px, ids[b].tolist(), sets, layers_at, merge=merge)
        err = (logits[b] - want).abs().max().item()
        assert err < TOL, err
        if at_input:  # the LLM's first layer already sees only module 0's tokens
            assert kept[b, 0] < 1 and torch.allclose(kept[b, 0], info[0]["hard"][b].mean())
        if merge:
            plain = removed_forward(m, px, ids[b].tolist(), sets, layers_at)
            assert (want - plain).abs().max().item() > 100 * TOL, "merging should change the answer's logits"


@torch.no_grad()
def test_hard_mask_equals_removal():
    check_against_removal(merge=False)


@torch.no_grad()
def test_merge_equals_engine_merge():
    check_against_removal(merge=True)


@torch.no_grad()
def test_input_equals_removal_before_layer0():
    check_against_removal(merge=False, at_input=True)
    check_against_removal(merge=True, at_input=True)


@torch.no_grad()
def test_input_module0_decides_as_after_layer0():
    """atp.input moves module 0's decision before layer 0 from the same attention: the same tokens."""
    m, atp = tiny()
    px, idx, ids, valid, pos, n_instr = batch()
    _, kept_after, info_after = atp_forward(m, atp, px, idx, ids, valid, pos, n_instr, beta=-1.0)
    atp.c.input = True
    _, kept_before, info_before = atp_forward(m, atp, px, idx, ids, valid, pos, n_instr, beta=-1.0)
    assert torch.equal(info_before[0]["hard"], info_after[0]["hard"])
    assert torch.allclose(kept_after[:, 0], torch.ones(2)) and (kept_before[:, 0] < 1).all()
    assert torch.allclose(kept_before[:, 0], kept_after[:, 1])


@torch.no_grad()
def test_budget_monotone_and_sap():
    m, atp = tiny()
    px, idx, ids, valid, pos, n_instr = batch()
    means = [atp_forward(m, atp, px, idx, ids, valid, pos, n_instr, beta=b)[1].mean().item()
             for b in (-3.0, -1.0, 0.0, 1.0, 3.0)]
    assert all(a <= b + 1e-6 for a, b in zip(means, means[1:])), means  # larger beta: lower thresholds
    s = sap_scores(12, [6, 4, 3, 2], 3.0).view(12, 12)
    assert abs(s[2, 2].item() - (1 - 3 / 36)) < 1e-6 and abs(s[0, 0].item() - 0.25) < 1e-6 and s[0, 1] == 0


@torch.no_grad()
def test_shift_spatial():
    """--shift-z-s moves theta_s on every instance: from between the stride-3 and stride-4 levels (16 + 9 + 4
    grid tokens, overlaps counted once) to above the stride-4 level (the stride-6 grid's 4 tokens alone)."""
    m, atp = tiny()
    px, idx, ids, valid, pos, n_instr = batch()
    for mod in atp.modules_:
        mod.mlp.fc2.weight.zero_()
        mod.mlp.fc2.bias.copy_(torch.tensor([100.0, 0.8]))  # t_r 100: nothing by importance; theta_s 0.69
    s_s = atp.s_s
    _, _, info = atp_forward(m, atp, px, idx, ids, valid, pos, n_instr)
    assert torch.equal(info[0]["hard"], (s_s > torch.sigmoid(torch.tensor(0.8))).float().expand_as(info[0]["hard"]))
    before = int(info[0]["hard"][0].sum())
    shift_spatial(atp, 1.0)  # theta_s sigmoid(1.8) = 0.858: between 1 - 3/16 and 1 - 3/36
    _, _, info = atp_forward(m, atp, px, idx, ids, valid, pos, n_instr)
    after = info[0]["hard"].sum(-1)
    assert before == int((s_s > 0.69).sum()) and before > 4, before
    assert after.tolist() == [4.0] * len(after), after
    assert all(abs(mod.mlp.fc2.bias[1].item() - 1.8) < 1e-6 for mod in atp.modules_)


def uniform_causal(n: int, alive: torch.Tensor) -> torch.Tensor:
    """(1, n, n) probabilities: each row attends uniformly to the alive keys at or before it."""
    a = torch.ones(n, n).tril() * alive[None, :]
    return (a / a.sum(-1, keepdim=True).clamp_min(1e-30))[None]


def test_self_score_position_bias():
    n = 144
    for alive in (torch.ones(n), (torch.arange(n) % 3 != 1).float()):
        A = uniform_causal(n, alive)
        m = alive[None]
        text_w = torch.zeros(1, n)
        visible, _ = scores(A, slice(0, n), text_w, m, "visible")
        assert torch.allclose(visible[m > 0], torch.ones(int(alive.sum())), atol=1e-5), visible
        summed, _ = scores(A, slice(0, n), text_w, m, "sum")
        k = torch.arange(1, int(alive.sum()) + 1, dtype=torch.float64)  # rank among alive tokens
        harmonic = (1 / k).cumsum(0)
        want = harmonic[-1] - harmonic + 1 / k  # sum over rows i >= j of 1 / rank(i)
        assert torch.allclose(summed[m > 0].double(), want, atol=1e-4), (summed, want)
        if alive.all():  # the bias the "sum" form carries: H(144) ~ 5.55 for the first token, 1/144 for the last
            assert abs(float(want[0]) - 5.55) < 0.01 and abs(float(want[-1]) - 1 / 144) < 1e-9
    try:
        scores(A, slice(0, n), text_w, m, "rows")
        raise AssertionError("an unknown self_norm must be refused")
    except ValueError:
        pass


@torch.no_grad()
def test_grid_control():
    # worked by hand from select.ts uniformGrid: 20 -> 4 rows x 5 cols, row r at floor((r + .5) 12 / 4), col c at
    # floor((c + .5) 12 / 5)
    rows, cols = [1, 4, 7, 10], [1, 3, 6, 8, 10]
    assert uniform_grid(12, 20) == [r * 12 + c for r in rows for c in cols]
    assert uniform_grid(12, 144) == list(range(144)) and uniform_grid(12, 1) == [6 * 12 + 6]
    assert uniform_grid(12, 2.5) == uniform_grid(12, 3)  # Math.round: half up
    # grid.ts keep.knobs at 25% over 8 layers after layer 0: want (2 - 1) 144 / 7 = 20.6 -> the 20-token grid
    assert len(uniform_grid(12, grid_tokens(0.25, 8, 144, 0))) == 20
    assert len(uniform_grid(12, grid_tokens(1.0, 8, 144, 0))) == 144
    m, _ = tiny()
    g = GridSelect(12, 0, len(m.language_model.model.layers))
    g.set_budget(0.25)
    px, idx, ids, valid, pos, n_instr = batch()
    logits, kept, _ = atp_forward(m, g, px, idx, ids, valid, pos, n_instr)
    assert torch.allclose(kept[:, 1:], torch.full_like(kept[:, 1:], 20 / 144)) and (kept[:, 0] == 1).all()
    for b in range(2):
        want = removed_forward(m, px, ids[b].tolist(), [uniform_grid(12, 20)], [0])
        assert (logits[b] - want).abs().max().item() < TOL
    # at the LLM's input (layer -1, as ATP with ATPConfig.input), merging: 25% over 8 layers = the 6 x 6 grid
    # entering layer 0, the dropped tokens merged into it as the engine's `grid --knob layer=-1 --knob merge=1`
    assert len(uniform_grid(12, grid_tokens(0.25, 8, 144, -1))) == 36
    g = GridSelect(12, -1, len(m.language_model.model.layers), merge=True)
    g.set_budget(0.25)
    logits, kept, _ = atp_forward(m, g, px, idx, ids, valid, pos, n_instr)
    assert torch.allclose(kept, torch.full_like(kept, 36 / 144))
    for b in range(2):
        want = removed_forward(m, px, ids[b].tolist(), [uniform_grid(12, 36)], [-1], merge=True)
        assert (logits[b] - want).abs().max().item() < TOL


def test_flat_budget_term():
    # 8 layers, first module after layer 0: the flat level for layers 1..7 at a 25% mean is (2 - 1) / 7
    f = 1 / 7
    flat = torch.tensor([[1.0] + [f] * 7, [1.0] + [f] * 7])
    assert budget_losses(flat, 0.25, flat_from=1)[1].item() < 1e-6
    assert abs(budget_losses(flat, 0.25)[1].item()) < 1e-6  # the same mean: the plain term agrees
    # a decreasing schedule of the same mean costs nothing under "mean" but is penalised under "flat"
    dec = torch.tensor([[1.0, 0.2, 0.2, 0.15, 0.15, 0.1, 0.1, 0.1]])
    assert abs(budget_losses(dec, 0.25)[1].item()) < 1e-6
    assert budget_losses(dec, 0.25, flat_from=1)[1].item() > 0.03
    # instances may differ (adaptivity): only each layer's batch mean is held
    mixed = torch.tensor([[1.0] + [f + 0.1] * 7, [1.0] + [f - 0.1] * 7])
    assert budget_losses(mixed, 0.25, flat_from=1)[1].item() < 1e-6


@torch.no_grad()
def test_question_state():
    m, plain = tiny()
    C = m.config.text_config.hidden_size
    x = torch.randn(2, 9, C)
    text_w = torch.tensor([[0, 0, 0, 1, 1, 1, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1, 0]]).float()
    q = question_state(x, text_w)
    for b, rows in enumerate([[3, 4, 5], [4, 5, 6, 7]]):
        mean = x[b, rows].mean(0)
        assert (q[b] - mean / mean.pow(2).mean().add(1e-6).sqrt()).abs().max().item() < 1e-5
    for at_input in (False, True):
        c = ATPConfig(question_state=True, num_features=NUM_FEATURES + C, input=at_input, merge=at_input)
        qs = ATP(c, 12)
        plain.c.input, plain.c.merge = at_input, at_input
        for mq, mp in zip(qs.modules_, plain.modules_):  # the statistics' weights as `plain`, 0 on the state
            mq.mlp.load_state_dict(mp.mlp.state_dict() | {"fc1.weight": torch.cat(
                [mp.mlp.fc1.weight, torch.zeros(mp.mlp.fc1.weight.shape[0], C)], 1)})
        px, idx, ids, valid, pos, n_instr = batch()
        _, _, info_p = atp_forward(m, plain, px, idx, ids, valid, pos, n_instr)
        _, _, info_q = atp_forward(m, qs, px, idx, ids, valid, pos, n_instr)
        for a, b in zip(info_p, info_q):
            assert (a["t_r"] - b["t_r"]).abs().max().item() < 1e-5
        for mq in qs.modules_:
            mq.mlp.fc1.weight[:, NUM_FEATURES:].normal_(0, 0.3)
        _, _, info_q = atp_forward(m, qs, px, idx, ids, valid, pos, n_instr)
        # the two questions share the image: the statistics barely differ, the question states do
        assert (info_q[0]["t_r"][0] - info_q[0]["t_r"][1]).abs().item() > 10 * (
            info_p[0]["t_r"][0] - info_p[0]["t_r"][1]).abs().item()
    plain.c.input, plain.c.merge = False, False


def test_budget_multipliers():
    f = 1 / 7
    mixed = torch.tensor([[1.0] + [f + 0.1] * 7, [1.0] + [f - 0.1] * 7])
    assert budget_gap(mixed, 0.25, flat_from=1).abs().max().item() < 1e-6
    assert budget_gap(mixed, 0.25).shape == (1,)
    # dual ascent on a toy kept share x (one instance, every layer at x): CE pulls x up with a constant force
    # 0.5; the multipliers must settle x at the flat level f with mu near the force, the instance's marginal value
    x = torch.tensor(0.5, requires_grad=True)
    duals = BudgetMultipliers(7, dual_lr=2.0, rho=5.0)  # stable: dual_lr < rho for SGD here
    opt = torch.optim.SGD([x], lr=0.02)
    for _ in range(3000):
        kept = torch.cat([torch.ones(1), x.expand(7)])[None]
        gap = budget_gap(kept, 0.25, flat_from=1)
        loss = -0.5 * x + duals.term(gap)
        opt.zero_grad()
        loss.backward()
        opt.step()
        duals.update(gap)
    assert abs(x.item() - f) < 1e-3, x.item()
    assert (duals.mu - 0.5).abs().max().item() < 1e-2, duals.mu
    assert BudgetMultipliers.from_state(duals.state()).mu.tolist() == duals.mu.tolist()


def test_scene_prior():
    objs = torch.tensor([1.0, 8.0, 4.0, 3.0])
    t = scene_targets(objs, 0.25, 6.0)
    assert abs(t.mean().item() - 0.25) < 1e-6  # the batch keeps the flat level
    assert abs((t[1] / t[0]).item() - 2.0) < 1e-6  # (6 + 8) / (6 + 1)
    kept = torch.cat([torch.ones(4, 1), t[:, None].expand(4, 7)], 1)
    assert scene_loss(kept, t, 1).item() < 1e-7  # at the targets, whatever layer 0 keeps
    same = torch.cat([torch.ones(4, 1), torch.full((4, 7), 0.25)], 1)  # every instance at the level: penalised
    assert abs(scene_loss(same, t, 1).item() - (t - 0.25).abs().mean().item()) < 1e-6
    x = torch.full((4,), 0.25, requires_grad=True)  # the term's gradient moves each instance toward its target
    scene_loss(torch.cat([torch.ones(4, 1), x[:, None].expand(4, 7)], 1), t, 1).backward()
    assert ((-x.grad).sign() == (t - 0.25).sign()).all()


def test_scene_prior_by_image():
    # two images (1 and 8 objects), two questions each: the image-level term holds each image's mean share
    img = torch.tensor([0, 0, 1, 1])
    t = scene_targets(torch.tensor([1.0, 1.0, 8.0, 8.0]), 0.25, 6.0)
    spread = torch.tensor([-0.05, 0.05, -0.08, 0.08])  # questions of one image apart, image means on target
    kept = torch.cat([torch.ones(4, 1), (t + spread)[:, None].expand(4, 7)], 1)
    assert scene_loss(kept, t, 1, img).item() < 1e-6  # free to differ within an image
    assert scene_loss(kept, t, 1).item() > 0.06  # the per-instance term is not
    x = torch.full((4,), 0.25, requires_grad=True)
    scene_loss(torch.cat([torch.ones(4, 1), x[:, None].expand(4, 7)], 1), t, 1, img).backward()
    assert (x.grad[:2] > 0).all() and (x.grad[2:] < 0).all()  # the sparse image down, the busy one up
    assert torch.allclose(x.grad[0], x.grad[1]) and torch.allclose(x.grad[2], x.grad[3])


def test_scene_prior_family_weight():
    # the same scene, four questions: count and caption weighted 1.2, colour and shape 0.8
    objs = torch.full((4,), 3.0)
    w = torch.tensor([1.2, 1.2, 0.8, 0.8])
    t = scene_targets(objs, 0.25, 6.0, w)
    assert abs(t.mean().item() - 0.25) < 1e-6  # the batch still keeps the flat level
    assert abs((t[0] / t[2]).item() - 1.5) < 1e-6  # 1.2 / 0.8
    assert torch.allclose(scene_targets(objs, 0.25, 6.0, torch.ones(4)), scene_targets(objs, 0.25, 6.0))
    from data import parse_family_values
    assert parse_family_values("count=1.2,colour=0.85", "--family-weight", 10.0) == {"count": 1.2, "colour": 0.85}
    for bad in ["count=0", "volume=1.1", "count=x", "count=11"]:
        try:
            parse_family_values(bad, "--family-weight", 10.0)
            raise AssertionError(bad)
        except ValueError as e:
            assert "--family-weight" in str(e)


def test_soup():
    from soup import soup
    a = {"model": {"w": torch.tensor([1.0, 2.0])}, "atp": {"atp.0.mlp.fc1.weight": torch.ones(2, 3)}, "config": {}}
    b = {"model": {"w": torch.tensor([3.0, 6.0])}, "atp": {"atp.0.mlp.fc1.weight": torch.full((2, 5), 3.0)},
         "config": {}, "atp_config": {"num_features": 5}}
    out = soup([a, b])
    assert out["model"]["w"].tolist() == [2.0, 4.0]
    # the narrower module reads zeros on the extra inputs: (1 + 3) / 2 on the shared columns, 3 / 2 beyond
    assert out["atp"]["atp.0.mlp.fc1.weight"].tolist() == [[2.0] * 3 + [1.5] * 2] * 2
    assert out["atp_config"] == {"num_features": 5}
    try:
        soup([a, {"model": {"v": torch.zeros(2)}, "atp": {}, "config": {}}])
        raise AssertionError("different models must be refused")
    except ValueError:
        pass


def test_vision_reduction():
    import math
    import numpy as np
    import torch.nn.functional as F
    from vision_reduce import VisionReduction, reduced_image_features, vision_plan

    m, atp = tiny()
    g = torch.Generator().manual_seed(5)
    for tokens in (96, 40):
        kept, dropped, into = vision_plan(torch.randn(144, 16, generator=g).numpy(), tokens, 12)
        assert len(kept) == tokens and sorted(kept + dropped) == list(range(144)) and len(into) == len(dropped)
        assert kept == sorted(kept) and all(k not in dropped[:i] for i, k in enumerate(into))
    px = torch.randn(2, 3, 96, 96, generator=g)
    red = VisionReduction(1, 90, True)
    with torch.no_grad():
        feats, alive, size = reduced_image_features(m, px, red)
        vm = m.vision_tower.vision_model
        for b in range(2):
            x = vm.embeddings(px[b:b + 1])
            x = vm.encoder.layers[0](x)
            l1 = vm.encoder.layers[1]
            keys = l1.self_attn.k_proj(l1.layer_norm1(x))[0].double().numpy()
            x = l1(x)[0]
            kept, dropped, into = vision_plan(keys, red.tokens, 12)
            sz = np.ones(144)
            for d, k in zip(dropped, into):  # wasm/model/vision.ts reduceRows
                t = sz[k] + sz[d]
                x[k] = (sz[k] / t) * x[k] + (sz[d] / t) * x[d]
                sz[k] = t
            x = x[kept][None]
            bias = torch.tensor(np.log(sz[kept]), dtype=x.dtype)
            for layer in vm.encoder.layers[2:]:
                at = layer.self_attn
                h = layer.layer_norm1(x)
                q, k, v = (p(h).view(1, -1, at.n_head, at.head_dim).transpose(1, 2)
                           for p in (at.q_proj, at.k_proj, at.v_proj))
                probs = F.softmax(q @ k.transpose(-2, -1) / math.sqrt(at.head_dim) + bias, dim=-1)
                x = x + at.out_proj((probs @ v).transpose(1, 2).reshape(1, -1, x.shape[-1]))
                x = x + layer.mlp(layer.layer_norm2(x))
            want = m.multi_modal_projector(vm.post_layernorm(x))[0]
            assert torch.equal(alive[b].nonzero().flatten(), torch.tensor(kept))
            assert torch.allclose(size[b][kept], torch.tensor(sz[kept], dtype=torch.float32))
            assert (feats[b][kept] - want).abs().max() < TOL, (feats[b][kept] - want).abs().max()
        atp.c.input = True
        atp.vision_reduce = red
        _, kept_frac, _ = atp_forward(m, atp, *batch(), beta=100.0)
        assert (kept_frac <= red.tokens / 144 + 1e-6).all() and (kept_frac > 0).all(), kept_frac
    # under bf16 autocast (precision.py on a CPU with avx512_bf16) the merge keeps the residual stream f32
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        feats16, alive16, _ = reduced_image_features(m, px, red)
    assert torch.equal(alive16, alive) and (feats16.float() - feats.float()).abs().max() < 0.25


def test_per_patch_scores():
    """The first module after a vision reduction scores a row of s patches per patch (the engine's
    atpScores perPatch): its scores divided by s, so its decision is the one on those scores; rows of one
    patch, and per_patch of all ones, decide as before."""
    from atp import EPS, ATPModule
    c = ATPConfig(layers=[0, 2, 4], num_features=NUM_FEATURES)
    mod = ATPModule(c)
    g = torch.Generator().manual_seed(11)
    B, N, T = 2, 16, 5
    S = 1 + N + T
    A = torch.softmax(torch.randn(B, S, S, generator=g) + torch.triu(torch.full((S, S), -1e9), 1), -1)
    vis = slice(1, 1 + N)
    text_w = torch.zeros(B, S)
    text_w[:, 1 + N:] = 1
    m = torch.ones(B, N)
    s_s = sap_scores(4, c.grid_strides, c.sap_lambda)
    size = torch.ones(B, N)
    size[:, 3] = 3
    size[:, 9] = 2
    s_self, s_cross = scores(A, vis, text_w, m, c.self_norm)
    lr_plain = torch.log((s_self + s_cross) / 2 + EPS)
    with torch.no_grad():  # t_r just below row 3's plain score (so that per patch it falls below), no SAP
        mod.mlp.fc2.weight.zero_()
        mod.mlp.fc2.bias.copy_(torch.tensor([float(lr_plain[0, 3]) - 0.05, 30.0]))
        M0, i0 = mod(A, vis, text_w, m, s_s)
        M1, i1 = mod(A, vis, text_w, m, s_s, per_patch=torch.ones(B, N))
        assert torch.equal(M0, M1)
        M2, i2 = mod(A, vis, text_w, m, s_s, per_patch=size)
        lr = torch.log((s_self / size + s_cross / size) / 2 + EPS)
        want = ((lr > i2["t_r"]) | (s_s[None] > i2["theta_s"])).float()
        assert torch.equal(i2["hard"], want)
        assert i0["hard"][0, 3] == 1 and i2["hard"][0, 3] == 0  # the merged row falls below per patch
        one = size == 1
        assert torch.equal(i0["hard"][one], i2["hard"][one])


if __name__ == "__main__":
    torch.set_num_threads(1)
    for name, fn in list(globals().items()):
        if name.startswith("test_"):
            fn()
            print("ok", name)
