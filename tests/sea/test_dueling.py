"""Pair-selection rules and the anchored ensemble reward model, on hand-made reward tensors."""
import pytest
import torch

from lib.sea import dueling


def _rewards():
    # E=4 heads, M=1 context, N=4 candidates. Heads agree that 0 is best except head 3 (prefers 2);
    # candidate 1 is far below 0 for every head (certain duel), 2 is close to 0 with disagreement,
    # candidate 3's margin to 0 varies by far the most across heads but is always large.
    r = torch.tensor([[3.0, 0.0, 2.5, -4.0],
                      [3.0, 0.0, 2.0, -12.0],
                      [3.0, 0.0, 2.9, -2.0],
                      [3.0, 0.0, 3.5, -20.0]])
    return r[:, None, :]


def test_duel_uncertainty_logit_and_probability_variance():
    r = _rewards()
    first = torch.tensor([0])
    lv = dueling.duel_uncertainty(r, first, "logit_var")[0]
    pv = dueling.duel_uncertainty(r, first, "prob_var")[0]
    diffs = r[:, 0, 0:1] - r[:, 0, :]
    torch.testing.assert_close(lv, diffs.var(0, unbiased=False))
    torch.testing.assert_close(pv, torch.sigmoid(diffs).var(0, unbiased=False))
    assert lv[0] == 0 and pv[0] == 0
    assert lv.argmax() == 3          # the most spread-out margin ...
    assert pv.argmax() == 2          # ... but the outcome of (0, 3) is certain: prob-var prefers 2
    with pytest.raises(ValueError, match="uncertainty"):
        dueling.duel_uncertainty(r, first, "entropy")


def test_bai_ts_first_action_is_argmax_of_a_sampled_head():
    r = _rewards()
    seen = set()
    for s in range(40):
        g = torch.Generator().manual_seed(s)
        a, b = dueling.select_pair(r, "bai_ts", uncertainty="prob_var", generator=g)
        assert int(a) in (0, 2) and int(b) != int(a)
        seen.add(int(a))
        if int(a) == 0:
            assert int(b) == 2
    assert seen == {0, 2}            # head 3 is sampled sometimes
    for s in range(10):
        g = torch.Generator().manual_seed(s)
        a, b = dueling.select_pair(r, "bai_ts", uncertainty="logit_var", generator=g)
        if int(a) == 0:
            assert int(b) == 3


def test_greedy_ee_ts_and_random_second():
    r = _rewards()
    a, b = dueling.select_pair(r, "greedy")
    assert (int(a), int(b)) == (0, 2)          # ensemble means 3.0 > 2.725 > 0 > -9.5
    for s in range(20):
        g = torch.Generator().manual_seed(s)
        a, b = dueling.select_pair(r, "ee_ts", generator=g)
        assert {int(a), int(b)} == {0, 2}      # the other argmax of a disagreeing head
        a, b = dueling.select_pair(r, "ts_random", generator=g)
        assert int(b) != int(a)
        a, b = dueling.select_pair(r, "uniform", generator=g)
        assert int(b) != int(a)


def test_identical_candidates_are_never_paired_and_shapes():
    E, M, N = 5, 3, 6
    r = torch.randn(E, M, N, generator=torch.Generator().manual_seed(0))
    cand = torch.tensor([[7] * N, [1, 2, 1, 2, 1, 2], [0, 1, 2, 3, 4, 5]])
    for rule in dueling.RULES:
        a, b = dueling.select_pair(r, rule, candidates=cand, generator=torch.Generator().manual_seed(1))
        assert a.shape == b.shape == (M,)
        assert cand[1, a[1]] != cand[1, b[1]] and cand[2, a[2]] != cand[2, b[2]]
    with pytest.raises(ValueError, match="rule"):
        dueling.select_pair(r, "optimism")
    with pytest.raises(ValueError, match="rewards"):
        dueling.select_pair(r[0], "greedy")


def test_max_margin_pair_orders_by_one_head():
    r = _rewards()
    c, rej = dueling.max_margin_pair(r, generator=torch.Generator().manual_seed(0))
    k_best = r[:, 0].argmax(1)
    assert int(c) in k_best.tolist() and int(rej) == 3


def test_ensemble_rm_shapes_anchor_and_learning():
    g = torch.Generator().manual_seed(0)
    rm = dueling.EnsembleRM(4, n_heads=3, hidden=8, depth=2, lam=0.5, generator=g)
    assert rm(torch.randn(5, 7, 4)).shape == (3, 5, 7)
    assert float(rm.regularization().detach()) == 0.0
    theta = torch.tensor([1.0, -2.0, 0.5, 0.0])
    f1, f2 = torch.randn(256, 4, generator=g), torch.randn(256, 4, generator=g)
    win = (f1 @ theta > f2 @ theta)[:, None]
    chosen, rejected = torch.where(win, f1, f2), torch.where(win, f2, f1)
    before = float(rm.loss(chosen, rejected, 256).detach())
    rm.fit(chosen, rejected, steps=200, batch=64, lr=1e-2, generator=g)
    assert float(rm.loss(chosen, rejected, 256).detach()) < before
    assert float(rm.regularization().detach()) > 0
    acc = ((rm(chosen) - rm(rejected)) > 0).float().mean()
    assert acc > 0.85
    with pytest.raises(ValueError, match="n_heads"):
        dueling.EnsembleRM(4, n_heads=0)


def test_uncertainty_rule_picks_the_most_uncertain_distinct_pair():
    g = torch.Generator().manual_seed(0)
    rewards = torch.randn(6, 3, 5, generator=g)
    a, b = dueling.select_pair(rewards, "uncertainty")
    unc = dueling.pair_uncertainty(rewards)
    for m in range(3):
        assert a[m] != b[m]
        off = unc[m].masked_fill(torch.eye(5, dtype=torch.bool), -1)
        assert torch.isclose(unc[m, a[m], b[m]], off.max())
    # candidates with repeated ids: never a pair of the same response
    cand = torch.tensor([[0, 0, 1, 1, 1]] * 3)
    a, b = dueling.select_pair(rewards, "uncertainty", candidates=cand)
    assert (cand[torch.arange(3), a] != cand[torch.arange(3), b]).all()
