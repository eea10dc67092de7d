"""lib.attention_sink.sink: the Bigram-Backcopy task and the train-and-measure helpers."""
import numpy as np
import pytest
import torch

from lib.attention_sink import sink as S
from lib.core import attention


def test_bigram_backcopy_has_a_fixed_first_token_and_copies_after_triggers():
    task = S.BigramBackcopy()
    x = task.sample(200, 64, np.random.default_rng(0)).numpy()
    assert x.shape == (200, 64) and x.dtype == np.int64
    assert (x[:, 0] == task.bos_id).all() and (x[:, 1:] < task.n_symbols).all()
    body = x[:, 1:]
    after_trigger = np.isin(body[:, 1:-1], task.triggers)
    assert after_trigger.any()
    assert (body[:, 2:][after_trigger] == body[:, :-2][after_trigger]).all()


def test_bigram_transitions_follow_the_chain():
    task = S.BigramBackcopy(n_symbols=6, n_triggers=1, concentration=1.0, fixed_position=0)
    x = task.sample(40_000, 3, np.random.default_rng(1)).numpy()
    prev, nxt = x[:, 1], x[:, 2]
    P = np.diff(np.concatenate([np.zeros((6, 1)), task.cumulative], 1), axis=1)
    for r in set(range(6)) - set(task.triggers.tolist()):
        emp = np.bincount(nxt[prev == r], minlength=6) / (prev == r).sum()
        assert np.abs(emp - P[r]).max() < 0.03


def test_fixed_token_position_and_no_fixed_token():
    x = S.BigramBackcopy(fixed_position=3).sample(10, 16, np.random.default_rng(0))
    assert (x[:, 2] == 64).all() and (x[:, :2] < 64).all() and (x[:, 3:] < 64).all()
    assert (S.BigramBackcopy(fixed_position=0).sample(50, 16, np.random.default_rng(0)) < 64).all()


def test_batches_depend_only_on_seed_and_step():
    task = S.BigramBackcopy()
    a, b = task.batches(4, 16, seed=0), task.batches(4, 16, seed=0)
    assert torch.equal(a(5)["input_ids"], b(5)["input_ids"])
    assert not torch.equal(a(5)["input_ids"], a(6)["input_ids"])
    assert not torch.equal(a(5)["input_ids"], task.batches(4, 16, seed=1)(5)["input_ids"])
    assert torch.equal(task.eval_set(8, 16), S.BigramBackcopy().eval_set(8, 16))


def test_task_errors():
    with pytest.raises(ValueError, match="n_triggers"):
        S.BigramBackcopy(n_symbols=4, n_triggers=4)
    with pytest.raises(ValueError, match="concentration"):
        S.BigramBackcopy(concentration=0)
    with pytest.raises(ValueError, match="beyond seq_len"):
        S.BigramBackcopy(fixed_position=9).sample(2, 8, np.random.default_rng(0))
    with pytest.raises(ValueError, match="variant"):
        S.SinkRun(variant="relu")
    with pytest.raises(ValueError, match="kv_bias"):
        S.SinkRun(kv_bias="query")


@pytest.mark.parametrize("variant,kv_bias", [("softmax", "none"), ("sigmoid", "none"), ("softmax", "key"),
                                             ("sigmoid_norm", "value")])
def test_train_and_measure_short_run(variant, kv_bias):
    run = S.SinkRun(variant=variant, kv_bias=kv_bias, steps=4, eval_every=2, batch_size=4, n_eval=4)
    model, hist = S.train_and_measure(run)
    assert list(hist.step) == [0, 2, 4]
    assert {"val_loss", "alpha1", "sink1", "sink_other", "variant", "lr", "seed"} <= set(hist.columns)
    assert hist.sink1.iloc[0] == 0.0 and 0 < hist.alpha1.iloc[0] < 0.3       # near-uniform at init
    assert ("bias_sink" in hist) == (kv_bias == "key")
    assert len(S.final(hist)) == 1


def test_sweep_and_seeds():
    runs = S.seeds(S.SinkRun(steps=2, eval_every=1, batch_size=2, n_eval=2), 2)
    assert [r.seed for r in runs] == [0, 1]
    hist = S.sweep(runs)
    fin = S.final(hist)
    assert list(fin.seed) == [0, 1] and (fin.step == 2).all()


def test_prepend_bos_and_probe_windows():
    tokens = np.arange(100)
    from lib.core import train
    b = S.prepend_bos(train.lm_batches(tokens, 3, 7, seed=0), bos_id=999)
    x = b(0)["input_ids"]
    assert x.shape == (3, 8) and (x[:, 0] == 999).all() and (x[:, 2:] - x[:, 1:-1] == 1).all()
    p = S.probe_windows(tokens, 4, 10, bos_id=999)
    assert p.shape == (4, 10) and p[1, 1:].tolist() == list(range(9, 18))
    assert S.probe_windows(tokens, 2, 5).tolist() == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    with pytest.raises(ValueError, match="need"):
        S.probe_windows(tokens, 20, 10)


def test_cooldown_continues_the_step_count():
    run = S.SinkRun(steps=4, eval_every=2, batch_size=2, n_eval=2, cooldown=4)
    _, hist = S.train_and_measure(run)
    assert list(hist.step) == [0, 2, 4, 6, 8]


@pytest.mark.parametrize("k", [0, 1, 3])
def test_sink_fixed_is_sink_at_the_fixed_position(k):
    run = S.SinkRun(fixed_position=k, steps=2, eval_every=2, batch_size=2, n_eval=4, seq_len=16)
    model, hist = S.train_and_measure(run)
    assert {"val_loss", "alpha1", "sink1", "sink_other"} <= set(hist.columns)
    assert ("sink_fixed" in hist) == (k > 0)
    x = S.BigramBackcopy(fixed_position=k).eval_set(4, 16)
    rates = attention.sink_rates(attention.attention_maps(model, x))
    row = S.measure(model, x, fixed_position=k)
    assert row["sink1"] == pytest.approx(rates[0].item())
    if k:
        assert row["sink_fixed"] == pytest.approx(rates[k - 1].item())
        assert hist.sink_fixed.iloc[-1] == pytest.approx(row["sink_fixed"])
    assert "sink_fixed" not in S.measure(model, x)
    with pytest.raises(ValueError, match="fixed_position"):
        S.measure(model, x, fixed_position=17)


def test_head_rates_average_to_sink1():
    run = S.SinkRun(n_layers=2, n_heads=4, steps=3, eval_every=3, batch_size=2, n_eval=4, seq_len=16)
    model, _ = S.train_and_measure(run)
    x = S.BigramBackcopy().eval_set(6, 16)
    heads = S.head_rates(model, x, eps=0.05)
    assert list(zip(heads.layer, heads["head"])) == [(l, h) for l in range(2) for h in range(4)]
    maps = attention.attention_maps(model, x)
    assert heads.sink1.mean() == pytest.approx(attention.sink_rate(maps, 0.05))
    assert heads.alpha1.mean() == pytest.approx(attention.first_token_attention(maps).mean().item(), rel=1e-5)
    assert model.training
