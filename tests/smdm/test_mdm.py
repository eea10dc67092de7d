import itertools
import math

import pandas as pd
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


def test_scaling_run_evaluates_at_each_budget():
    tokens = torch.randint(0, 5, (4000,), generator=torch.Generator().manual_seed(0)).numpy()
    rows = smdm.scaling_run("mdm", tokens, tokens[:256], 6, d_model=16, n_layers=1, n_heads=2,
                            min_flops=2e6, multiples=[1, 2, 4], seq_len=16, batch_size=4, lr=1e-2, seed=0,
                            n_mc=1)
    assert list(rows.budget) == [2e6, 4e6, 8e6]
    assert (rows.step == rows.step.iloc[0] * pd.Series([1, 2, 4])).all()
    assert (rows.flops == 6 * rows.n_params * rows.tokens).all()
    assert rows.flops.iloc[0] == pytest.approx(2e6, rel=0.5) and rows.val_loss.notna().all()
    with pytest.raises(ValueError, match="kind"):
        smdm.scaling_run("gpt", tokens, tokens, 6, d_model=16, n_layers=1, n_heads=2, min_flops=1e6,
                         multiples=[1], seq_len=16, batch_size=4, lr=1e-2, seed=0)


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
