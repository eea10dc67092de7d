"""lib.vocab_scaling.laws: the published predictor (Tao et al. 2024, Table 1 and the official
optimal_Nv_predict.py), metrics, and refits on the paper's exp_data.csv."""
import math

import numpy as np
import pandas as pd
import pytest
import torch

from lib.book import data
from lib.vocab_scaling import laws as vs
from lib.vocab_scaling.paper import OFFICIAL_302M, OFFICIAL_TABLE1

PUBLISHED = OFFICIAL_TABLE1   # N_nv: (d, V_A1, V_A2, V_A3), outputs of the official optimal_Nv_predict.py


@pytest.mark.parametrize("n_nv", sorted(PUBLISHED))
def test_predictor_matches_official_predictor(n_nv):
    d, v1, v2, v3 = PUBLISHED[n_nv]
    assert vs.nnv_to_d(n_nv) == d
    assert vs.optimal_vocab(n_nv, 1) == v1
    assert vs.optimal_vocab(n_nv, 2) == v2
    assert abs(vs.optimal_vocab(n_nv, 3) - v3) <= 1


def test_paper_table1_rounded():
    t = vs.prediction_table()
    paper_k = [(39, 43, 37), (62, 67, 60), (83, 91, 81), (142, 154, 142), (212, 231, 218), (237, 258, 248),
               (356, 389, 383)]
    got = [tuple(math.floor(r[f"V_A{k}"] / 1000 + 0.5) for k in (1, 2, 3)) for _, r in t.iterrows()]
    # the paper truncates 383.659K to 383K; everything else is rounded
    assert got[:-1] == paper_k[:-1] and got[-1][:2] == paper_k[-1][:2] and got[-1][2] in (383, 384)


def test_under_and_over_training_row():
    n_nv = 302e6
    c_opt = vs.compute_optimal_flops(n_nv)
    got = [vs.optimal_vocab(n_nv, 3, k * c_opt) for k in OFFICIAL_302M]
    assert all(abs(g - e) <= 1 for g, e in zip(got, OFFICIAL_302M.values()))
    assert got == sorted(got)


def test_3b_validation_budgets():
    assert vs.optimal_vocab(2.87e9, 3, 2.3e21) == pytest.approx(42_211, abs=1)   # paper: 43K (overtraining)
    assert round(vs.optimal_vocab(2.87e9, 3, 1.2e21) / 1000) == 35              # paper: 35K (optimal)
    assert round(vs.optimal_vocab(2.87e9, 3, 2.8e20) / 1000) == 24              # paper: 24K (under)


def test_llama2_70b_vocab_far_too_small():
    # the paper's "70B" (Table 1 row, N_nv = 70e9): every approach asks for >= 6.5x Llama2's 32K
    for k in (1, 2, 3):
        assert vs.optimal_vocab(70e9, k) >= 6.5 * 32_000
    assert vs.optimal_vocab(70e9, 3) == pytest.approx(216_000, rel=0.02)   # abstract: ">= 216K"
    # Llama2-70B's N_nv counted from its config is 68.45B; there approach 1 gives 6.498x
    llama = next(m for m in vs.PUBLIC_LLMS if m.name == "Llama2-70B")
    assert llama.n_nv == pytest.approx(68.45e9, rel=1e-3)
    assert min(vs.optimal_vocab(llama.n_nv, k) for k in (1, 2, 3)) >= 6.4 * 32_000


def test_public_llm_params_from_config():
    llama7 = next(m for m in vs.PUBLIC_LLMS if m.name == "Llama2-7B")
    total = llama7.n_nv + 2 * llama7.vocab_size * llama7.d_model   # untied embeddings
    assert total == 6_738_415_616                                 # Llama-2-7b-hf parameter count
    assert llama7.n_v == 32000 * 4096


def test_approach3_generic_solver_matches_fsolve():
    for n in (3e9, 70e9):
        v = vs.approach3_optimal_vocab(n, vs.nnv_to_d(n), vs.compute_optimal_flops(n), vs.PAPER_A3)
        assert v == pytest.approx(vs.optimal_vocab(n, 3), abs=1.5)


def test_predictor_as_fitted_is_smaller_and_equals_the_published_one_without_the_slip():
    # with the tokens the published fit saw, D = C f(V/1000) / (6 N f(V)), the optimum drops to about a
    # quarter at 70B; with f(V/1000) = f(V) (no slip) it is the published predictor
    n, d = 70e9, 8192
    c = vs.compute_optimal_flops(n)
    v = vs.approach3_optimal_vocab(n, d, c, vs.PAPER_A3, as_fitted=True)
    assert 0.2 < v / vs.optimal_vocab(n, 3) < 0.35
    flat = (0.0, 0.0, 0.25)   # a constant f: the conversion factor is 1
    assert vs.approach3_optimal_vocab(n, d, c, vs.PAPER_A3, as_fitted=True, f_coeffs=flat) == \
        pytest.approx(vs.optimal_vocab(n, 3), abs=1.5)


def test_approach2_raw_derivative_optimum():
    assert vs.optimal_vocab_derivative(33e6, 512) == pytest.approx(10_323, rel=1e-3)
    assert vs.optimal_vocab_derivative(2.87e9, 3200) == pytest.approx(65_928, rel=1e-3)


def test_tokens_per_char_paper_values_and_fit():
    assert vs.tokens_per_char(4096) == pytest.approx(0.332, abs=1e-3)
    assert vs.tokens_per_char(32000) == pytest.approx(0.252, abs=1e-3)
    assert vs.tokens_per_char(1e6) == vs.tokens_per_char(2e5)        # capped
    v = np.array([1e3, 4e3, 16e3, 64e3, 200e3])
    fit = vs.fit_tokens_per_char(v, vs.tokens_per_char(v))
    np.testing.assert_allclose(fit.coeffs, vs.PAPER_F, rtol=1e-5)
    assert fit.r2 > 0.999999
    with pytest.raises(ValueError):
        vs.fit_tokens_per_char([1e3, 2e3], [0.3, 0.2])


def test_training_flops():
    assert vs.training_flops(1e6, 1000, 64, 1e6) == 6 * (1e6 + 64_000) * 1e6


def test_unigram_normalized_loss():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, 5000)
    logp = vs.unigram_log_probs(ids, 60)                 # 10 unseen tokens get count 1
    assert np.exp(logp).sum() == pytest.approx(1.0)
    targets = torch.as_tensor(ids[:1000])
    uniform_like_unigram = torch.as_tensor(logp, dtype=torch.float32).expand(1000, 60)
    assert vs.unigram_normalized_loss(uniform_like_unigram, targets, logp) == pytest.approx(0.0, abs=1e-5)
    perfect = torch.full((1000, 60), -30.0)
    perfect[torch.arange(1000), targets] = 30.0
    lu = vs.unigram_normalized_loss(perfect, targets, logp)
    assert lu == pytest.approx(float(logp[ids[:1000]].mean()), abs=1e-4) and lu < 0
    with pytest.raises(ValueError):
        vs.unigram_normalized_loss(perfect[:, :50], targets, logp)
    with pytest.raises(ValueError):
        vs.unigram_log_probs(np.array([0, 70]), 60)


def test_bits_per_char():
    assert vs.bits_per_char(math.log(2) * 100, 100) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        vs.bits_per_char(1.0, 0)


def test_bad_inputs():
    with pytest.raises(ValueError):
        vs.nnv_to_d(-1)
    with pytest.raises(ValueError):
        vs.optimal_vocab(3e9, 4)
    with pytest.raises(ValueError):
        vs.optimal_vocab(3e9, 1, flops=1e21)
    with pytest.raises(ValueError):
        vs.approach3_parametric(3e9, flops=0)


@pytest.fixture(scope="module")
def exp_data():
    try:
        return pd.read_csv(data.get("scaling_with_vocab_exp_data", download=False))
    except FileNotFoundError:
        pytest.skip("exp_data.csv not available (set BOOK_DATA)")


def test_refit_approach1_on_paper_data(exp_data):
    fit = vs.fit_approach1(exp_data)
    assert fit.params["K1"] == pytest.approx(vs.PAPER_A1["K1"], abs=0.01)
    assert fit.params["alpha2"] == pytest.approx(vs.PAPER_A1["alpha2"], abs=0.005)
    assert fit.params["K2"] == pytest.approx(vs.PAPER_A1["K2"], abs=0.05)
    assert vs.approach1_vocab(70e9, fit.params) == pytest.approx(PUBLISHED[70e9][1], rel=0.01)


def test_leave_one_family_out(exp_data, monkeypatch):
    # the wiring (which family is dropped, the per-family token counts of the densified grid) with
    # least-squares power laws instead of the 400-start Huber fits, to stay fast
    fit = vs.scaling_laws.fit_power_law
    monkeypatch.setattr(vs.scaling_laws, "fit_power_law", lambda x, y, **kw: fit(x, y, exponent=kw.get("exponent"),
                                                                                  loss="lsq"))
    lofo = vs.approach1_leave_one_family_out(exp_data, interpolate=True)
    assert len(lofo) == 6 and list(lofo.left_out_N_nv) == sorted(exp_data.Non_vocab_parameters.unique())
    assert lofo.alpha2.between(0.35, 0.5).all() and lofo.V_opt.between(1e5, 4e5).all()
    with pytest.raises(ValueError):
        vs.densify_isoflop_data(exp_data, max_tokens=vs.FAMILY_MAX_TOKENS[:5])


def test_refit_approach3_on_paper_data(exp_data):
    grid = vs.approach3_grid()
    assert len(grid) == 486
    # grid[29] is the start the official rule (lowest relative MSE) keeps over all 486 starts
    official = vs.fit_approach3(exp_data, consistent_units=False, starts=grid[:9] + [grid[29]])
    assert official.n_points == 1054
    for k in ("A1", "A2", "B", "E", "alpha2", "beta"):
        assert official.params[k] == pytest.approx(vs.PAPER_A3[k], rel=0.01), k
    consistent = vs.fit_approach3(exp_data, consistent_units=True, starts=[grid[336], vs.paper_a3_start()])
    assert consistent.params["alpha2"] > 0.8 and consistent.params["A2"] < 0.15
    v70 = vs.approach3_optimal_vocab(70e9, 8192, vs.compute_optimal_flops(70e9), consistent.params)
    assert 60_000 < v70 < 140_000          # far below the published 218K


def test_flops_per_token_counts_head_and_blocks():
    from lib.core import flops
    fpt = vs.tiny_llama_flops_per_token(d_model=32, n_layers=2, vocab_size=1000, seq_len=64, head_dim=16)
    assert fpt == flops.llama_flops(d_model=32, n_layers=2, vocab_size=1000, seq_len=64, n_heads=2).training
    assert fpt > 6 * 1000 * 32                         # the head alone is 6 V d per token
    with pytest.raises(ValueError):
        vs.tiny_llama_flops_per_token(d_model=24, n_layers=2, vocab_size=1000, seq_len=64, head_dim=16)


def _char_tokenizer(text):
    from lib.core import tokenizer
    return tokenizer.char_tokenizer(text)


def test_heldout_blocks_score_every_token_but_each_blocks_first_once():
    text = "the cat sat on the mat. " * 40
    tok = _char_tokenizer(text)
    held = vs.heldout_blocks(tok, text, block_chars=100, seq_len=16)
    assert len(held.n_chars) == len(text) // 100
    assert np.all(held.n_chars == 99) and np.all(held.n_tokens == 99)      # one char per token, first unscored
    assert held.mask.sum() == held.n_tokens.sum()
    assert held.windows.shape[1] == 16 and np.all(held.unigram_nll == 0)
    logp = np.log(np.full(len(tok), 1 / len(tok)))
    with_uni = vs.heldout_blocks(tok, text, block_chars=100, seq_len=16, log_p_uni=logp)
    assert with_uni.unigram_nll == pytest.approx(99 * np.log(len(tok)))
    with pytest.raises(ValueError):
        vs.heldout_blocks(tok, text[:50], block_chars=100, seq_len=16)


def test_train_to_budget_and_block_nll_on_random_tokens():
    text = "abcdefghij" * 300
    tok = _char_tokenizer(text)
    rng = np.random.default_rng(0)
    train_ids = rng.integers(2, len(tok), 20_000)
    held = vs.heldout_blocks(tok, text, block_chars=500, seq_len=32)
    row, nll = vs.train_to_budget(train_ids, held, vocab_size=len(tok), d_model=16, budget=3e8, batch_size=4,
                                  seq_len=32)
    fpt = vs.tiny_llama_flops_per_token(d_model=16, n_layers=2, vocab_size=len(tok), seq_len=32, head_dim=16)
    assert row["FLOPs"] == pytest.approx(3e8, rel=0.05) and row["steps"] == round(3e8 / (fpt * 4 * 32))
    assert nll.shape == held.n_chars.shape and np.all(nll > 0)
    assert row["bpc"] == pytest.approx(nll.sum() / held.n_chars.sum() / math.log(2))
    # trained on uniform noise over the non-special tokens: close to log2 of their number per char
    assert abs(row["bpc"] - math.log2(len(tok) - 2)) < 0.5


def test_bootstrap_weights_and_refined_vopt():
    w = vs.bootstrap_weights(10, 50, 0)
    assert w.shape == (50, 10) and np.all(w[0] == 1) and np.all(w.sum(1) == 10)
    v = [500, 1000, 2000, 4000]
    rows = np.array([2 + (np.log(v) - np.log(1500)) ** 2, 2 + (np.log(v) - np.log(2500)) ** 2])
    np.testing.assert_allclose(vs.refined_vopt(v, rows), [1500, 2500], rtol=1e-6)
