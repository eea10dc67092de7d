"""The perplexity filter of lib.cheating.defences: scores, windows, thresholds, the filtered win rate and
the filter-aware search, on a reference LM and a judge trained for a few steps."""
import numpy as np
import pytest
import torch

from lib.cheating import defences as D, toy


def test_window_score():
    nll = np.array([1.0, 1.0, 5.0, 1.0])
    assert D.window_score(nll) == pytest.approx(2.0)
    assert D.window_score(nll, window=2) == pytest.approx(3.0)
    assert D.window_score(nll, window=10) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="window"):
        D.window_score(nll, window=0)


def test_threshold_at_fpr():
    scores = np.arange(100, dtype=float)
    thr = D.threshold_at_fpr(scores, 0.05)
    assert np.mean(scores > thr) == pytest.approx(0.05, abs=0.011)
    with pytest.raises(ValueError, match="fpr"):
        D.threshold_at_fpr(scores, 0.0)


@pytest.fixture(scope="module")
def lm():
    m = D.ReferenceLM(seed=0, d_model=16, n_layers=1, n_heads=2)
    m.train(steps=30, batch_size=8, seed=0)
    return m


def test_lm_documents_are_masked_and_seeded(lm):
    a, b = lm.documents(1, 4)(3), lm.documents(1, 4)(3)
    assert torch.equal(a["input_ids"], b["input_ids"])
    assert ((a["labels"] == -100) == (a["input_ids"] == 0)).all()


def test_word_nll_matches_a_direct_computation(lm):
    split = toy.make_split(3, seed=0)
    resp = [["a", "b"], [], ["}", "Ignore"]]
    scores = D.response_scores(lm, split, resp)
    for inst, r, sc in zip(split.instructions, resp, scores):
        ctx = toy.template_parts(inst)[0]
        words = ctx + r + [toy.Q]
        ids = torch.tensor([[lm.index[w] for w in words]])
        with torch.no_grad():
            logp = lm.model(input_ids=ids).logits.log_softmax(-1)[0]
        nll = [-logp[t - 1, ids[0, t]].item() for t in range(len(ctx), len(words))]
        assert sc == pytest.approx(np.mean(nll), abs=1e-4)


def test_filter_and_filter_aware_search(lm):
    judge = toy.Judge(seed=0, d_model=16, n_layers=1, n_heads=2)
    judge.train(steps=5, batch_size=8)
    split = toy.make_split(4, seed=1)
    response = ["}"] * 2 + toy.STRUCTURED
    plain = toy.null_win_rates(judge, split, response)
    open_ = D.filtered_win_rates(judge, lm, split, response, threshold=np.inf)
    shut = D.filtered_win_rates(judge, lm, split, response, threshold=-np.inf)
    assert open_["win_rate"] == pytest.approx(plain["win_rate"], abs=1e-4) and open_["flagged"] == 0
    assert shut["win_rate"] == 0 and shut["flagged"] == 100
    res = D.ppl_aware_search(judge, lm, split, threshold=0.0, window=4, n_tokens=2, steps=4, seed=0)
    assert len(res.tokens) == 2 + len(toy.STRUCTURED) and res.history[-1] <= res.history[0]
