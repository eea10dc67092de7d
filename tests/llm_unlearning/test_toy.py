"""The tiny-GPT unlearning experiment: every method runs, the reference is frozen, and the
procedural and TOFU-slice worlds tokenise and evaluate (tiny models, a few steps)."""
import numpy as np
import pytest
import torch

from lib.llm_unlearning import tofu, toy


@pytest.fixture(scope="module")
def setup():
    w = tofu.make_authors(n_authors=6, n_forget=2, n_unknown=2, seed=0)
    tok = toy.WordTokenizer(toy.world_texts(w))
    torch.manual_seed(0)
    return toy.tiny_gpt(len(tok), 32, d_model=16, n_layers=1, n_heads=2), tok, w


def test_encode_masks_the_question_and_padding(setup):
    _, tok, w = setup
    ids, lab, att = tok.encode_qa(w["forget"][0]["question"], w["forget"][0]["answer"])
    n_q = len(tok.prompt(w["forget"][0]["question"]))
    assert lab[:n_q] == [-100] * n_q and lab[n_q] == ids[n_q] and sum(att) == len([i for i in ids if i != toy.PAD])
    assert tok.decode(ids[n_q:sum(att) - 1]) == w["forget"][0]["answer"]


@pytest.mark.parametrize("method", ["GA", "GA+GD", "NPO+GD", "ME+GD", "IDK+GD", "IDK+AP", "DPO+GD", "DPO+AP", "IDK+KL"])
def test_every_method_changes_the_model_and_leaves_the_original(setup, method):
    model, tok, w = setup
    before = [p.detach().clone() for p in model.parameters()]
    out = toy.unlearn(model, tok, w, method, toy.UnlearnConfig(lr=1e-3, epochs=1))
    assert all(torch.equal(a, p) for a, p in zip(before, model.parameters()))
    assert any(not torch.equal(a, p) for a, p in zip(before, out.parameters()))


def test_summarize_reports_mu_fe_in_range(setup):
    model, tok, w = setup
    s = toy.summarize(model, tok, w, n_retain_eval=8)
    assert 0 <= s["MU"] <= 1 and 0 <= s["FE"] <= 1 and len(s["forget"]["gens"]) == len(w["forget"])


def test_forget_requests_split_whole_authors():
    w = tofu.make_authors(n_authors=8, n_forget=6, n_unknown=0, seed=1)
    reqs = toy.forget_requests(w["forget"], 3)
    authors = [{d["author"] for d in r} for r in reqs]
    assert [len(a) for a in authors] == [2, 2, 2] and len(set.union(*authors)) == 6
    assert [d for r in reqs for d in r] == w["forget"]
    with pytest.raises(ValueError, match="n_stages"):
        toy.forget_requests(w["forget"], 4)


def test_continual_chains_the_stages(setup):
    """Stage k starts from stage k−1's model: two stages equal two chained ``unlearn`` calls, FE is
    measured on everything forgotten so far and, separately, on each request served."""
    model, tok, w = setup
    cfg = toy.UnlearnConfig(epochs=1, lr=1e-3)
    stages = toy.continual(model, tok, w, "NPO+GD", n_stages=2, cfg=cfg, seed=5)
    reqs = toy.forget_requests(w["forget"], 2)
    m1 = toy.unlearn(model, tok, w, "NPO+GD", cfg, seed=5, forget_items=reqs[0])
    m2 = toy.unlearn(m1, tok, w, "NPO+GD", cfg, seed=6, forget_items=reqs[1])
    for st, m, done in [(stages[0], m1, reqs[0]), (stages[1], m2, w["forget"])]:
        ref = toy.summarize(m, tok, w, forget_items=done)
        assert st["MU"] == pytest.approx(ref["MU"]) and st["FE"] == pytest.approx(ref["FE"])
        assert len(st["forget"]["gens"]) == len(done)
    assert stages[0]["FE_requests"] == [pytest.approx(stages[0]["FE"])]
    # FE is a mean over items, so with equal requests FE on the union is the mean of the per-request FEs
    assert np.mean(stages[1]["FE_requests"]) == pytest.approx(stages[1]["FE"])


def test_bad_settings_are_rejected(setup):
    model, tok, w = setup
    with pytest.raises(ValueError, match="retain_partner"):
        toy.UnlearnConfig(retain_partner="nearest")
    with pytest.raises(ValueError, match="method"):
        toy.unlearn(model, tok, w, "XX+GD")
    with pytest.raises(ValueError, match="world"):
        toy.prepare(0, world="wiki", steps=1)


def test_tofu_world_prepares_a_model_that_generates():
    model, tok, w, hist = toy.prepare(0, "tofu", steps=2, d_model=16, n_layers=1)
    assert len(w["forget"]) == 20 and tok.max_len == 96 and len(hist) == 2
    assert isinstance(toy.generate(model, tok, [w["forget"][0]["question"]], max_new=3)[0], str)
