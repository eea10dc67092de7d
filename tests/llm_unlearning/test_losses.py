"""Unlearning losses on hand-made log-probabilities (closed forms and lib.core.preference's DPO, itself
checked against TRL)."""
import math

import pytest
import torch
import torch.nn.functional as F

from lib.core import preference
from lib.llm_unlearning import losses

NLL = torch.tensor([12.0, 30.0, 5.5])
NLL_REF = torch.tensor([10.0, 31.0, 5.5])


def test_npo_loss_equals_its_closed_form():
    beta = 0.1
    ratio = torch.exp(-(NLL - NLL_REF))   # pi_theta / pi_ref
    want = (2 / beta) * torch.log1p(ratio ** beta).mean()
    assert losses.npo_loss(NLL, NLL_REF, beta).item() == pytest.approx(want.item(), rel=1e-6)
    # at pi_theta = pi_ref it is (2/beta) log 2, and it falls as the forget answers get less likely
    assert losses.npo_loss(NLL_REF, NLL_REF, beta).item() == pytest.approx(2 / beta * math.log(2))
    assert losses.npo_loss(NLL_REF + 5, NLL_REF, beta) < losses.npo_loss(NLL_REF, NLL_REF, beta)


def test_dpo_loss_is_two_over_beta_times_standard_dpo():
    beta = 0.1
    idk, true = torch.tensor([8.0, 9.0, 3.0]), torch.tensor([12.0, 30.0, 5.5])
    ref_idk, ref_true = torch.tensor([9.0, 9.5, 4.0]), torch.tensor([11.0, 31.0, 5.0])
    std = preference.dpo_loss(-idk, -true, -ref_idk, -ref_true, beta).mean()   # chosen = refusal
    assert losses.dpo_loss(idk, true, ref_idk, ref_true, beta).item() == pytest.approx(2 / beta * std.item(), rel=1e-6)


def test_ap_loss_has_one_over_beta_and_no_reference():
    beta = 0.1
    nll_idk, nll_true = torch.tensor([9.0, 3.0]), torch.tensor([4.0, 6.0])
    want = -(1 / beta) * F.logsigmoid(beta * (nll_idk - nll_true)).mean()
    assert losses.ap_loss(nll_idk, nll_true, beta).item() == pytest.approx(want.item(), rel=1e-6)
    assert losses.ap_loss(nll_true, nll_true, beta).item() == pytest.approx(math.log(2) / beta)


def test_me_loss_is_kl_from_uniform_like_the_release():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 7)
    logp = F.log_softmax(logits, -1)
    uniform = torch.full_like(logp, 1 / 7)
    per_pos = F.kl_div(logp, uniform, reduction="none").sum(-1)   # the release: kl_div(log p, U) = KL(U||p)
    assert losses.me_loss_from_logits(logits).item() == pytest.approx(per_pos.mean().item(), rel=1e-5)
    mask = torch.tensor([[0, 0, 1, 1, 0], [0, 1, 1, 1, 1]])
    want = (per_pos * mask).sum() / mask.sum()
    assert losses.me_loss_from_logits(logits, mask).item() == pytest.approx(want.item(), rel=1e-5)
    assert losses.me_loss_from_logits(torch.zeros(1, 3, 7)).item() == pytest.approx(0.0, abs=1e-6)


def test_kl_regularizer_is_zero_for_identical_models_and_positive_otherwise():
    torch.manual_seed(0)
    a, b = torch.randn(2, 4, 6), torch.randn(2, 4, 6)
    assert losses.kl_from_logits(a, a).item() == pytest.approx(0.0, abs=1e-6)
    p_ref, logp = F.softmax(b, -1), F.log_softmax(a, -1)
    want = (p_ref * (p_ref.log() - logp)).sum(-1).mean()
    assert losses.kl_from_logits(a, b).item() == pytest.approx(want.item(), rel=1e-5)


def test_methods_parse_by_name_and_reject_unknown_ones():
    assert losses.parse_method("ME+GD") == ("ME", "GD")
    assert losses.parse_method("GA") == ("GA", None)
    assert losses.needs_reference("NPO+GD") and losses.needs_reference("IDK+KL")
    assert not losses.needs_reference("IDK+AP")
    for bad in ("XX+GD", "ME+XX", "ME+GD+KL", 3):
        with pytest.raises(ValueError, match="method"):
            losses.parse_method(bad)


class Fixed(torch.nn.Module):
    """A 'model' with learnable per-position logits, to check the model-level losses."""
    def __init__(self, V=5, T=4):
        super().__init__()
        torch.manual_seed(1)
        self.w = torch.nn.Parameter(torch.randn(T, V))

    def forward(self, input_ids, attention_mask=None):
        return type("Out", (), {"logits": self.w.expand(input_ids.shape[0], -1, -1)})()


def test_unlearn_loss_combines_forget_and_regularizer_by_name():
    m, ref = Fixed(), Fixed()
    ids = torch.tensor([[0, 1, 2, 3], [0, 2, 2, 1]])
    lab = torch.tensor([[-100, -100, 2, 3], [-100, 2, 2, 1]])
    b = (ids, lab, torch.ones_like(ids))
    batches = {"forget": b, "retain": b, "forget_idk": b, "retain_idk": b}
    ga = losses.unlearn_loss("GA", m, None, batches)
    gd = losses.regularizer("GD", m, None, batches)
    assert ga.item() == pytest.approx(-gd.item())
    assert losses.unlearn_loss("GA+GD", m, None, batches).item() == pytest.approx(0.0, abs=1e-6)
    me = losses.unlearn_loss("ME+GD", m, None, batches, forget_coeff=0.1)
    assert me.item() == pytest.approx(0.1 * losses.me_loss_from_logits(m.w[None, :-1]).item() + gd.item(), rel=1e-5)
    # NPO against an identical reference: (2/beta) log 2
    assert losses.unlearn_loss("NPO", m, m, batches).item() == pytest.approx(20 * math.log(2), rel=1e-5)
    with pytest.raises(ValueError, match="reference"):
        losses.unlearn_loss("NPO+GD", m, None, batches)
