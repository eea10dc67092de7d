import itertools
import math

import pytest
import torch

from lib.core import models
from lib.smdm import mdm as smdm

V, MASK = 6, 5   # five real tokens and the mask


@pytest.fixture(scope="module")
def mdm():
    torch.manual_seed(0)
    return models.tiny_llama(V, d_model=16, n_layers=1, n_heads=2, is_causal=False).eval()


def any_order_nll(model, x):
    """Mean over all orders σ of the any-order autoregressive NLL Σ_k -log p(x_σ(k) | x_σ(<k)),
    computed order by order (an independent route to the ELBO)."""
    total, orders = 0.0, list(itertools.permutations(range(len(x))))
    with torch.no_grad():
        for order in orders:
            xt = torch.full_like(x, MASK)
            for i in order:
                total -= model(input_ids=xt[None]).logits[0, i].log_softmax(-1)[x[i]].item()
                xt[i] = x[i]
    return total / len(orders)


@pytest.mark.parametrize("x", [[1, 2], [0, 3, 3], [4, 1, 0, 2]])
def test_elbo_equals_the_any_order_autoregressive_nll(mdm, x):
    x = torch.tensor(x)
    assert smdm.elbo_exact(mdm, x, MASK) == pytest.approx(any_order_nll(mdm, x), rel=1e-5)


def test_monte_carlo_loss_is_unbiased(mdm):
    x = torch.tensor([[1, 2, 0, 4]])
    exact = smdm.elbo_exact(mdm, x[0], MASK) / x.shape[1]      # per token, as mdm_loss reports
    torch.manual_seed(1)
    with torch.no_grad():
        draws = torch.tensor([smdm.mdm_loss(mdm, {"input_ids": x}, MASK, eps=1e-4).item()
                              for _ in range(4000)])
    se = draws.std() / math.sqrt(len(draws))
    assert abs(draws.mean().item() - exact) < 4 * se.item()


def test_elbo_is_tight_for_an_iid_model_that_knows_the_marginal():
    """A model that ignores its input and outputs q has L = L·H-style NLL exactly: -Σ log q(x_i)."""
    q = torch.tensor([0.1, 0.2, 0.3, 0.25, 0.15])

    class Marginal(torch.nn.Module):
        def forward(self, input_ids):
            logits = torch.log(torch.cat([q, torch.zeros(1)]) + 1e-30).expand(*input_ids.shape, V)
            return type("Out", (), {"logits": logits})()
    x = torch.tensor([0, 2, 2, 4])
    assert smdm.elbo_exact(Marginal(), x, MASK) == pytest.approx(-torch.log(q[x]).sum().item(), rel=1e-6)


def test_transfer_schedule_reveals_every_step():
    assert smdm.transfer_schedule(3, 3) == [1, 1, 1]
    assert smdm.transfer_schedule(10, 4) == [3, 3, 2, 2]
    for n, s in itertools.product(range(1, 20), range(1, 20)):
        if s <= n:
            plan = smdm.transfer_schedule(n, s)
            assert sum(plan) == n and min(plan) >= 1
    with pytest.raises(ValueError, match="steps"):
        smdm.transfer_schedule(3, 4)


@pytest.mark.parametrize("remasking", ["low_confidence", "random"])
def test_generate_fills_every_mask_and_keeps_the_prompt_out(mdm, remasking):
    prompt = torch.tensor([[1, 2], [3, 4]])
    out = smdm.generate(mdm, prompt, 4, MASK, steps=2, remasking=remasking, temperature=1.0,
                        generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 4) and (out != MASK).all()


def test_low_confidence_greedy_with_one_step_is_the_argmax(mdm):
    prompt = torch.tensor([[1, 2]])
    x = torch.tensor([[1, 2, MASK, MASK]])
    with torch.no_grad():
        expected = mdm(input_ids=x).logits[0, 2:, :MASK].argmax(-1)   # the mask is never predicted
    assert torch.equal(smdm.generate(mdm, prompt, 2, MASK, steps=1)[0], expected)


def test_guidance_is_the_paper_formula(mdm):
    x = torch.tensor([[1, 2, MASK, MASK]])
    with torch.no_grad():
        c = mdm(input_ids=x).logits
        u = mdm(input_ids=torch.tensor([[MASK, MASK, MASK, MASK]])).logits
        torch.testing.assert_close(smdm.guided_logits(mdm, x, 2, MASK, 0.8), u + 1.8 * (c - u))
        torch.testing.assert_close(smdm.guided_logits(mdm, x, 2, MASK, 0.0), c)


def test_bad_remasking_is_named(mdm):
    with pytest.raises(ValueError, match="remasking"):
        smdm.generate(mdm, torch.tensor([[1]]), 2, MASK, steps=1, remasking="greedy")


def test_validation_elbo_is_deterministic_and_estimates_the_exact_elbo(mdm):
    tokens = torch.tensor([1, 2, 0, 4, 3, 3, 0, 1]).numpy()
    exact = sum(smdm.elbo_exact(mdm, torch.as_tensor(tokens[i:i + 4]), MASK) for i in (0, 4)) / 8
    estimate = smdm.elbo_loss(mdm, tokens, MASK, seq_len=4, n_mc=4000, seed=3)
    assert estimate == smdm.elbo_loss(mdm, tokens, MASK, seq_len=4, n_mc=4000, seed=3)
    assert estimate == pytest.approx(exact, rel=0.03)


def test_budget_run_trains_to_its_budget_with_the_full_flop_count():
    from lib.core import flops
    tokens = torch.randint(0, 5, (4000,), generator=torch.Generator().manual_seed(0)).numpy()
    count = smdm.flops_per_token(d_model=16, n_layers=1, n_heads=2, vocab_size=6, seq_len=16)
    assert count == flops.llama_flops(d_model=16, n_layers=1, vocab_size=6, seq_len=16, n_heads=2, causal=False)
    assert count.head == 2 * 16 * 6 and count.embedding == 0
    per_step = count.training * 4 * 16
    for kind in smdm.KINDS:
        row = smdm.budget_run(kind, tokens, tokens[:256], 6, d_model=16, n_layers=1, n_heads=2,
                              budget=10.4 * per_step, seq_len=16, batch_size=4, lr=1e-2, seed=0, n_mc=1,
                              shifted={"other": tokens[-256:]})
        assert row["steps"] == 10 and row["flops"] == 10 * per_step and row["tokens"] == 10 * 4 * 16
        assert row["head_share"] == pytest.approx(count.head / count.forward)
        assert math.isfinite(row["val_loss"]) and math.isfinite(row["other_loss"])
    with pytest.raises(ValueError, match="kind"):
        smdm.budget_run("gpt", tokens, tokens, 6, d_model=16, n_layers=1, n_heads=2, budget=1e6, seq_len=16,
                        batch_size=4, lr=1e-2, seed=0)


def any_order_answer_nll(model, prompt, answer):
    """Mean over all orders of the answer positions of Σ_k -log p(a_σ(k) | prompt, a_σ(<k)), order by order."""
    p, k = len(prompt), len(answer)
    total, orders = 0.0, list(itertools.permutations(range(k)))
    with torch.no_grad():
        for order in orders:
            x = torch.cat([prompt, torch.full_like(answer, MASK)])
            for i in order:
                total -= model(input_ids=x[None]).logits[0, p + i].log_softmax(-1)[answer[i]].item()
                x[p + i] = answer[i]
    return total / len(orders)


def test_conditional_elbo_exact_is_the_any_order_nll_of_the_answer(mdm):
    prompt, answer = torch.tensor([[1, 2], [4, 4]]), torch.tensor([[0, 3, 4], [2, 2, 1]])
    got = smdm.conditional_elbo_exact(mdm, prompt, answer, MASK)
    for b in range(2):
        assert got[b].item() == pytest.approx(any_order_answer_nll(mdm, prompt[b], answer[b]), rel=1e-6)
    with pytest.raises(ValueError, match="12"):
        smdm.conditional_elbo_exact(mdm, prompt[:, :1], torch.zeros(1, 13, dtype=torch.long), MASK)


@pytest.mark.parametrize("scheme", smdm.MC_SCHEMES)
def test_conditional_elbo_monte_carlo_is_unbiased(mdm, scheme):
    prompt, answer = torch.tensor([[1, 2]]), torch.tensor([[0, 3, 4, 1]])
    exact = smdm.conditional_elbo_exact(mdm, prompt, answer, MASK).item()
    g = torch.Generator().manual_seed(0)
    means = torch.stack([smdm.conditional_elbo_mc(mdm, prompt, answer, MASK, n=8, scheme=scheme, generator=g)[0].mean()
                         for _ in range(400)])
    assert abs(means.mean().item() - exact) < 4 * means.std().item() / math.sqrt(len(means))


def test_stratified_counts_are_uniform_on_one_to_k_and_evenly_spread():
    u = (torch.arange(6000, dtype=torch.float64)[:, None] + 0.5) / 6000      # a fine grid over [0, 1)
    for n, k in ((8, 6), (4, 4), (3, 7)):
        counts = smdm.stratified_counts(u, n, k)
        for j in range(n):       # each draw's count is uniform on 1..K: the estimate stays unbiased
            freq = torch.bincount(counts[:, j], minlength=k + 1)[1:]
            assert freq.max() - freq.min() <= 1
        if n == k:               # n = K: every count once per row
            assert (counts.sort(1).values == torch.arange(1, k + 1)).all()


def test_stratified_counts_lower_the_variance(mdm):
    prompt, answer = torch.tensor([[1, 2]]), torch.tensor([[0, 3, 4, 1]])
    g = torch.Generator().manual_seed(1)
    var = {s: torch.stack([smdm.conditional_elbo_mc(mdm, prompt, answer, MASK, n=4, scheme=s, generator=g)[0]
                           .mean() for _ in range(400)]).var().item() for s in ("t", "stratified_count")}
    assert var["stratified_count"] < 0.5 * var["t"]
    with pytest.raises(ValueError, match="scheme"):
        smdm.conditional_elbo_mc(mdm, prompt, answer, MASK, n=4, scheme="count")


def test_prefix_scores_the_tokens_after_it_given_it(mdm):
    """elbo_loss(prefix=1) estimates the bound on -log p(x_2..x_L | x_1) per scored token."""
    tokens = torch.tensor([1, 2, 0, 4, 3, 3, 0, 1]).numpy()
    w = torch.as_tensor(tokens).view(2, 4)
    exact = smdm.conditional_elbo_exact(mdm, w[:, :1], w[:, 1:], MASK).sum().item() / 6
    estimate = smdm.elbo_loss(mdm, tokens, MASK, seq_len=4, n_mc=3000, seed=3, prefix=1)
    assert estimate == pytest.approx(exact, rel=0.03)
    with pytest.raises(ValueError, match="prefix"):
        smdm.mdm_loss(mdm, {"input_ids": w}, MASK, prefix=4)


def test_conditional_logprob_is_the_chain_rule(mdm):
    prompt, option, suffix = torch.tensor([[1, 2]]), torch.tensor([[3, 0]]), torch.tensor([[4]])
    with torch.no_grad():
        def logp(x, i, tok):
            logits = mdm(input_ids=torch.tensor([x])).logits[0, i].double()
            logits[MASK] = -torch.inf
            return logits.log_softmax(-1)[tok].item()
        expected = logp([1, 2, MASK, MASK, 4], 2, 3) + logp([1, 2, 3, MASK, 4], 3, 0)
    got = smdm.conditional_logprob(mdm, prompt, option, MASK, suffix=suffix)
    assert got.item() == pytest.approx(expected, abs=1e-9)
    # the option probabilities of all one-token options sum to one, with or without guidance
    options = torch.arange(MASK)[:, None]
    for w in (0.0, 1.5):
        lp = smdm.conditional_logprob(mdm, prompt.expand(MASK, -1), options, MASK, cfg=w)
        assert lp.exp().sum().item() == pytest.approx(1.0, abs=1e-9)


def test_guided_option_scores_subtract_the_prompt_free_prior(mdm):
    prompt, options = torch.tensor([[1, 2]]).expand(MASK, -1), torch.arange(MASK)[:, None]
    cond = smdm.conditional_logprob(mdm, prompt, options, MASK)
    uncond = smdm.conditional_logprob(mdm, torch.full_like(prompt, MASK), options, MASK)
    guided = smdm.conditional_logprob(mdm, prompt, options, MASK, cfg=1.0)
    pmi = 2 * cond - uncond        # log p_c^(1+w) / p_u^w at w = 1, before renormalising
    assert torch.allclose(guided - guided.logsumexp(0), pmi - pmi.logsumexp(0), atol=1e-9)
