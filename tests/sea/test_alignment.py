"""The SEA chapter's environments and online loop (short runs)."""
import numpy as np
import pandas as pd
import pytest
import torch

from lib.sea import alignment as sea


def test_linear_cdb_returns_regret_curves_and_rejects_unknown_agent():
    out = sea.run_linear_cdb("bai_ts_prob", horizon=20, eval_every=10, n_test=20, seed=0)
    assert out["cum_regret"].shape == (20,) and np.all(np.diff(out["cum_regret"]) >= 0)
    assert list(out["steps"]) == [10, 20] and np.all(out["simple_regret"] >= 0)
    with pytest.raises(ValueError, match="agent"):
        sea.run_linear_cdb("ucb")


def test_bt_env_reference_scores_half_and_oracle_follows_reward():
    env = sea.make_bt_env(16, 32, 4, seed=0)
    assert sea.win_rate(env, env.ref_logits) == 0.5
    best = torch.zeros_like(env.reward).scatter(1, env.reward.argmax(1, keepdim=True), 10.0)
    assert sea.win_rate(env, best) > 0.9
    x = torch.arange(16)
    a, b = env.reward.argmax(1), env.reward.argmin(1)
    assert sea.oracle_prefers_first(env, x, a[:, None], b[:, None], bt_sample=False).all()
    g = torch.Generator().manual_seed(0)
    y = sea.TabularPolicy(env, sea.AlignConfig()).sample(x[:4], 3, g)
    assert y.shape == (4, 3, 1) and torch.equal(env.features(x[:4], y), env.feats[x[:4, None], y[..., 0]])
    with pytest.raises(ValueError, match="n_prompts"):
        sea.make_bt_env(1)


@pytest.mark.parametrize("agent", sea.AGENTS)
def test_every_agent_runs_and_counts_queries(agent):
    env = sea.make_bt_env(16, 32, 4, seed=0)
    cfg = sea.AlignConfig(rounds=8, batch=4, n_samples=6, n_heads=3, hidden=8, burn_in=2)
    curve = sea.run_online_alignment(env, agent, cfg, seed=0)
    assert list(curve.columns) == ["round", "queries", "win_rate"] and len(curve) == 9
    if agent == "sea_mpl":
        assert curve.queries.iloc[-1] <= 32        # ERM-labelled pairs cost no query
    else:
        assert curve.queries.iloc[-1] == 32


def test_mixed_preference_learning_never_asks_the_oracle_for_synthetic_pairs(monkeypatch):
    calls = []
    real = sea.oracle_prefers_first

    def spy(env, x, a, b, **kw):
        calls.append(len(x))
        return real(env, x, a, b, **kw)
    monkeypatch.setattr(sea, "oracle_prefers_first", spy)
    env = sea.make_bt_env(16, 32, 4, seed=0)
    cfg = sea.AlignConfig(rounds=10, batch=8, n_samples=6, n_heads=3, hidden=8, burn_in=0, mpl_ratio=0.5)
    curve = sea.run_online_alignment(env, "sea_mpl", cfg, seed=0)
    assert sum(calls) == curve.queries.iloc[-1] < 80


def test_sea_beats_passive_online_dpo_on_a_short_run():
    env = sea.make_bt_env(seed=0)
    cfg = sea.AlignConfig(rounds=60)
    online = sea.run_online_alignment(env, "online", cfg, seed=0)
    sea_curve = sea.run_online_alignment(env, "sea", cfg, seed=0)
    assert sea.win_rate_at(sea_curve, 960) > sea.win_rate_at(online, 960)


def test_queries_to_reach_and_mean_curve():
    grid = np.array([0, 100, 200, 300])
    assert sea.queries_to_reach(grid, np.array([0.5, 0.6, 0.7, 0.8]), 0.7) == 200
    assert sea.queries_to_reach(grid, np.array([0.5, 0.6, 0.7, 0.8]), 0.9) == np.inf
    import pandas as pd
    c = pd.DataFrame({"round": [0, 1, 2], "queries": [0, 150, 300], "win_rate": [0.5, 0.6, 0.7]})
    assert list(sea.mean_curve([c, c], grid)) == [0.5, 0.6, 0.7, 0.7]
    with pytest.raises(ValueError, match="loss"):
        sea.AlignConfig(loss="kto")


def test_taste_task_reward_features_and_sft_batches():
    task = sea.make_taste_task(4, 3, 6, seed=0)
    g = torch.Generator().manual_seed(0)
    x = sea.taste_prompts(task, 5, g)
    assert x.shape == (5, 4) and (x[:, -1] == task.sep).all()
    best = task.W[:, 0, :].argmax(1)[x[:, torch.arange(6) % 3]]
    worst = task.letters[task.W[task.letters][:, 0, task.letters].argmin(1)]
    assert (sea.taste_reward(task, x, best) >= sea.taste_reward(task, x, best.roll(1, 1))).all()
    f = sea.taste_features(task, x, best)
    assert f.shape == (5, task.vocab_size ** 2 * 6) and (f.sum(1) == 6).all()
    batch = sea.taste_sft_batches(task, 8, seed=0)(0)["input_ids"]
    assert batch.shape == (8, 10) and torch.isin(batch[:, 4:], task.letters).all()
    assert torch.equal(batch, sea.taste_sft_batches(task, 8, seed=0)(0)["input_ids"])
    assert worst.shape == (len(task.letters),)


@pytest.mark.parametrize("agent", ["offline", "online", "xpo", "apl", "sea", "sea_mpl"])
def test_lm_alignment_runs_on_a_tiny_llama(agent):
    from lib.core import models
    task = sea.make_taste_task(4, 3, 4, seed=0)
    torch.manual_seed(0)
    lm = models.tiny_llama(task.vocab_size, d_model=16, n_layers=1, n_heads=2, max_len=16)
    cfg = sea.LMAlignConfig(rounds=2, batch=4, n_samples=3, n_heads=3, eval_every=1, n_eval=8)
    curve = sea.run_lm_alignment(task, lm, agent, cfg, seed=0)
    assert curve.queries.iloc[-1] <= 8 and curve.win_rate.iloc[0] == 0.5 and len(curve) == 3
    with pytest.raises(ValueError, match="agent"):
        sea.run_lm_alignment(task, lm, "sea_ucb", cfg)


def test_the_tabular_and_lm_policies_share_one_loop(monkeypatch):
    calls = []
    real = sea.run_alignment

    def spy(env, policy, agent, cfg, **kw):
        calls.append(type(policy).__name__)
        return real(env, policy, agent, cfg, **kw)
    monkeypatch.setattr(sea, "run_alignment", spy)
    sea.run_online_alignment(sea.make_bt_env(8, 16, 4, seed=0), "online", sea.AlignConfig(rounds=1, batch=2))
    from lib.core import models
    task = sea.make_taste_task(4, 3, 4, seed=0)
    lm = models.tiny_llama(task.vocab_size, d_model=16, n_layers=1, n_heads=2, max_len=16)
    sea.run_lm_alignment(task, lm, "online", sea.LMAlignConfig(rounds=1, batch=2, n_eval=4))
    assert calls == ["TabularPolicy", "LMPolicy"]


def test_cosine_schedule_warms_up_then_decays_to_its_floor():
    cfg = sea.LMAlignConfig(rounds=100, lr_schedule="cosine", warmup=0.05, min_lr_ratio=0.1)
    f = [sea.lr_factor(cfg)(t) for t in range(101)]
    assert f[0] == pytest.approx(0.2) and f[4] == 1.0 and max(f) == 1.0
    assert f[100] == pytest.approx(0.1) and all(a >= b for a, b in zip(f[4:], f[5:]))
    assert sea.lr_factor(sea.LMAlignConfig())(50) == 1.0
    with pytest.raises(ValueError, match="lr_schedule"):
        sea.LMAlignConfig(lr_schedule="linear")


def test_row_adam_moves_only_the_given_rows_and_equals_adam_on_each_row():
    torch.manual_seed(0)
    table = torch.randn(6, 5, dtype=torch.float64)
    start = table.clone()
    opt = sea.RowAdam(table, lr=0.1)
    refs = {r: torch.nn.Parameter(start[r].clone()) for r in (1, 4)}
    adams = {r: torch.optim.Adam([p], lr=0.1) for r, p in refs.items()}
    for step, rows in enumerate([[1, 4], [4], [1, 4], [4]]):
        grads = torch.randn(len(rows), 5, dtype=torch.float64)
        opt.step(torch.tensor(rows), grads)
        for r, g in zip(rows, grads):
            adams[r].zero_grad()
            refs[r].grad = g.clone()
            adams[r].step()
    for r in (0, 2, 3, 5):
        assert torch.equal(table[r], start[r])          # bit-identical outside the batches
    for r, p in refs.items():
        torch.testing.assert_close(table[r], p.detach(), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="distinct"):
        opt.step(torch.tensor([1, 1]), torch.zeros(2, 5, dtype=torch.float64))


def test_sweep_pairs_agents_on_the_same_environments():
    cfg = sea.AlignConfig(rounds=3, batch=4, n_samples=4, n_heads=3, hidden=8)
    out = sea.sweep(lambda s: sea.make_bt_env(8, 16, 4, seed=s), ["online", "sea"], cfg, [0, 1])
    assert set(out) == {"online", "sea"} and all(len(v) == 2 for v in out.values())
    alone = sea.run_online_alignment(sea.make_bt_env(8, 16, 4, seed=1), "sea", cfg, seed=1)
    pd.testing.assert_frame_equal(out["sea"][1], alone)


def test_apl_keeps_the_most_uncertain_prompts_and_the_widest_implicit_margin():
    logits = torch.tensor([[5.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [9.0, 0.0, 0.0]])
    env = sea.BTEnv(torch.zeros(4, 3, 2), torch.zeros(4, 3), logits, logits.argmax(1))
    entropy = sea.TabularPolicy(env, sea.AlignConfig()).entropy(torch.tensor([3, 0, 2, 1]), None)
    assert entropy.argsort(descending=True)[:2].tolist() == [3, 2]      # prompts 1 and 2 of the pool
    ids = torch.tensor([[4, 7, 7, 1], [2, 2, 2, 2]])
    implicit = torch.tensor([[0.5, -1.0, -1.0, 2.0], [0.0, 0.0, 0.0, 0.0]])
    a, b = sea.max_margin_candidates(implicit, ids)
    assert {ids[0, a[0]].item(), ids[0, b[0]].item()} == {7, 1}        # margin 3.0
    assert a[1] == b[1]                                                 # all the same: no distinct pair
    y = torch.tensor([[[1, 2], [3, 4], [1, 2]], [[0, 0], [0, 0], [0, 1]]])
    assert sea.response_ids(y)[0, 0] == sea.response_ids(y)[0, 2] != sea.response_ids(y)[0, 1]


def test_xpo_asks_about_one_policy_and_one_reference_sample(monkeypatch):
    env = sea.make_bt_env(8, 16, 4, seed=0)
    seen = []
    real = sea.oracle_prefers_first

    def spy(env_, x, a, b, **kw):
        seen.append((x.clone(), a.clone(), b.clone()))
        return real(env_, x, a, b, **kw)

    monkeypatch.setattr(sea, "oracle_prefers_first", spy)
    # a reference policy that puts all its mass on response 0: every second response must be 0
    env = sea.BTEnv(env.feats, env.reward, torch.full_like(env.ref_logits, -30.0).index_fill(1, torch.tensor([0]), 30.0),
                    torch.zeros(8, dtype=torch.long))
    sea.run_online_alignment(env, "xpo", sea.AlignConfig(rounds=3, batch=4), seed=0)
    assert all((b == 0).all() for _, _, b in seen) and all(len(b) == 4 for _, _, b in seen)


def test_best_of_n_with_a_deterministic_policy_is_the_greedy_win_rate():
    env = sea.make_bt_env(8, 16, 4, seed=0)
    logits = torch.full((8, 16), -50.0).scatter(1, torch.arange(8)[:, None] % 16, 50.0)
    erm = sea.dueling.EnsembleRM(4, 3, 8, 1, 0.5, generator=torch.Generator().manual_seed(0))
    bon = sea.bon_win_rate(env, logits, erm, 4, torch.Generator().manual_seed(0))
    assert bon == sea.win_rate(env, logits)
    curve = sea.run_online_alignment(env, "sea", sea.AlignConfig(rounds=2, batch=4, n_samples=4, n_heads=3, hidden=8,
                                                                 bon_n=4), seed=0)
    assert curve.bon_win_rate.iloc[1:].between(0, 1).all()


def test_lm_policy_log_ratio_is_zero_at_the_reference_and_moves_after_an_update():
    from lib.core import models
    task = sea.make_taste_task(4, 3, 4, seed=0)
    torch.manual_seed(0)
    lm = models.tiny_llama(task.vocab_size, d_model=16, n_layers=1, n_heads=2, max_len=16)
    policy = sea.LMPolicy(task, lm, sea.LMAlignConfig(n_eval=4, lr=1e-2))
    g = torch.Generator().manual_seed(0)
    x = task.sample_prompts(3, g)
    y = policy.sample(x, 2, g)
    assert y.shape == (3, 2, 4) and torch.equal(policy.log_ratio(x, y), torch.zeros(3, 2))
    assert policy.entropy(x, g).shape == (3,) and (policy.entropy(x, g) > 0).all()
    policy.update(x, y[:, 0], y[:, 1], torch.tensor([True, True, False]), optimism=y[:, 1])
    ratio = policy.log_ratio(x, y)
    assert (ratio[:2, 0] > ratio[:2, 1]).all()          # the chosen responses gained on the rejected ones
