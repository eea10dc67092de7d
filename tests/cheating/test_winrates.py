"""AlpacaEval 2.0's metrics: our win rates against the published leaderboard and the README of the null model,
and against the ``alpaca-eval`` package itself (run with its hub download replaced by a local file) when it is
installed; skipped with the reason otherwise (it needs ``alpaca-eval==0.6.6`` and ``setuptools<81``)."""
import importlib.util

import numpy as np
import pandas as pd
import pytest

from lib.cheating import winrates as W
from lib.cheating.paper import PAPER

HAS_AE = importlib.util.find_spec("alpaca_eval") is not None
needs_ae = pytest.mark.skipif(not HAS_AE, reason="alpaca_eval is not importable (pip install alpaca-eval==0.6.6 "
                              "'setuptools<81' in the test environment to compare with the package)")
HAS_SK = importlib.util.find_spec("sklearn") is not None


@pytest.fixture(scope="module")
def leaderboard():
    return W.leaderboard()


@pytest.mark.parametrize("model", [m for m in W.SHARED_MODELS if m != "text_davinci_003"])
def test_raw_and_discrete_win_rates_equal_the_leaderboard(model, leaderboard):
    ours, row = W.win_rate(W.annotations(model)["preference"]), leaderboard.loc[model]
    assert ours["win_rate"] == pytest.approx(row["win_rate"], abs=1e-8)
    assert ours["standard_error"] == pytest.approx(row["standard_error"], abs=1e-8)
    assert ours["discrete_win_rate"] == pytest.approx(row["discrete_win_rate"], abs=1e-9)
    for key in ("n_wins", "n_wins_base", "n_draws", "n_total"):
        assert ours[key] == row[key]


def test_null_model_win_rates_equal_the_readme():
    ours = W.win_rate(W.annotations("NullModel")["preference"])
    assert round(ours["win_rate"], 2) == PAPER["readme_win"].value == 76.92
    assert round(ours["discrete_win_rate"], 2) == PAPER["readme_discrete"].value == 83.98
    assert (ours["n_wins"], ours["n_wins_base"], ours["n_total"]) == (676, 129, 805)


def test_preference_from_logprobs_and_switch_reproduce_the_annotations():
    df = W.annotations("NullModel")
    for _, row in df.iterrows():
        raw = W.logprob_preference(row["raw_completion"]["logprobs"]["content"][0]["top_logprobs"])
        assert W.unswitch(raw, W.is_switched(row["instruction"])) == pytest.approx(row["preference"], abs=1e-9)
    assert sum(W.is_switched(i) for i in df["instruction"]) == 406


def test_logprob_preference_edge_cases():
    assert W.logprob_preference({"m": 0.0}) == 1.0
    assert W.logprob_preference({"M": 0.0, "The": -1.0}) == 2.0
    assert np.isnan(W.logprob_preference({"The": 0.0}))
    assert W.logprob_preference({"m": np.log(0.25), "M": np.log(0.25)}) == pytest.approx(1.5)


def test_win_rate_counts_zero_as_draw_and_half_in_discrete():
    out = W.win_rate([1.0, 2.0, 1.5, 0.0])
    assert out["n_draws"] == 2 and out["win_rate"] == 50 and out["discrete_win_rate"] == 50


def test_lc_rejects_missing_inputs():
    df = W.annotations("alpaca-7b")
    with pytest.raises(ValueError, match="instruction_difficulty"):
        W.length_controlled_winrate(df, None, None, glm="length_controlled_noreg")
    with pytest.raises(ValueError, match="df_gamed"):
        W.length_controlled_winrate(df, np.zeros(len(df)), None, glm="length_controlled_v1")
    with pytest.raises(ValueError, match="glm must be"):
        W.length_controlled_winrate(df, glm="lc")


@pytest.mark.skipif(not HAS_SK, reason="scikit-learn is not installed")
def test_group_kfold_folds_equal_sklearn():
    from sklearn.model_selection import GroupKFold
    n = 37
    groups = np.concatenate([np.arange(n)] * 2)
    ours = W.group_kfold_test_folds(n)
    for f, (_, test) in enumerate(GroupKFold(5).split(np.zeros(2 * n), groups=groups)):
        assert set(groups[test]) == set(np.flatnonzero(ours == f))


@pytest.mark.skipif(not HAS_SK, reason="scikit-learn is not installed")
def test_exact_solver_is_liblinears_optimum_at_tight_tolerance():
    from sklearn.linear_model import LogisticRegression
    rng = np.random.default_rng(0)
    X = np.c_[np.tanh(rng.normal(size=300)), rng.normal(size=300), np.ones(300)]
    t = 1 / (1 + np.exp(-(X @ [-0.8, 0.5, 1.2] + rng.normal(size=300))))
    for C in (0.05, 3.0):
        m = LogisticRegression(C=C, penalty="l1", solver="liblinear", fit_intercept=False, tol=1e-12,
                               max_iter=100_000).fit(np.r_[X, X], np.r_[np.ones(300), np.zeros(300)],
                                                     sample_weight=np.r_[t, 1 - t])
        np.testing.assert_allclose(W.fit_l1_logistic(X, t, np.ones(300), C), m.coef_[0], atol=1e-6)


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """alpaca_eval with its hub download replaced by a synthetic df_gamed.csv written here."""
    from alpaca_eval.metrics import glm_winrate
    diff, gamed = W.synthetic_difficulty_and_gamed(805, seed=0)
    path = tmp_path_factory.mktemp("ae") / "df_gamed.csv"
    gamed.to_csv(path, index=False)
    original = glm_winrate.hf_hub_download
    glm_winrate.hf_hub_download = lambda **kwargs: str(path)
    yield glm_winrate, diff, gamed
    glm_winrate.hf_hub_download = original


@needs_ae
@pytest.mark.parametrize("model", W.SHARED_MODELS)
def test_raw_and_discrete_win_rates_equal_alpaca_eval(model):
    from alpaca_eval.metrics.winrate import get_winrate
    df = W.annotations(model)
    theirs, ours = get_winrate(df), W.win_rate(df["preference"])
    for key in theirs:
        assert ours[key] == pytest.approx(theirs[key], abs=1e-12), key


@needs_ae
@pytest.mark.parametrize("model", ["NullModel", "claude-2.1", "alpaca-7b_verbose", "gpt4_gamed"])
@pytest.mark.parametrize("glm", sorted(W.GLMS))
def test_length_controlled_winrate_equals_alpaca_eval(package, model, glm):
    glm_winrate, diff, gamed = package
    df = W.annotations(model)
    diff = diff[: len(df)]   # the package indexes difficulty by annotation row
    theirs = glm_winrate.get_length_controlled_winrate(df.copy(), glm_name=glm, save_weights_dir=None,
                                                       is_warn_extreme_changes=False)
    ours = W.length_controlled_winrate(df, diff, gamed, glm=glm, solver="liblinear")
    assert abs(ours["length_controlled_winrate"] - theirs["length_controlled_winrate"]) < 1e-6
    assert abs(ours["lc_standard_error"] - theirs["lc_standard_error"]) < 1e-6
    exact = W.length_controlled_winrate(df, diff, gamed, glm=glm)   # the exact optimum: liblinear's tolerance
    assert abs(exact["length_controlled_winrate"] - theirs["length_controlled_winrate"]) < 0.2
