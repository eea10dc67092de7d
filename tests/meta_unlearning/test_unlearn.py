"""lib.meta_unlearning.unlearn: the ESD target, the meta gradient (first order = the sum of the two
gradient terms; second order = finite differences), and the unlearning loop on a tiny model."""
import copy

import pytest
import torch
from torch import nn

from lib.core import diffusion as D
from lib.meta_unlearning import unlearn as U


def test_esd_target_formula_on_hand_made_eps():
    e_null, e_c = torch.tensor([1.0, 2.0]), torch.tensor([3.0, 1.0])
    assert torch.equal(U.esd_target(e_null, e_c, 3.0), torch.tensor([-5.0, 5.0]))   # 1 − 3·2, 2 − 3·(−1)
    assert torch.equal(U.esd_target(e_null, e_c, 0.0), e_null)

    # esd_loss: teacher's ε is 1 for the null class and 3 for the concept; the student predicts 0.
    def teacher(x, t, c):
        return torch.where(c[:, None] == 10, torch.ones_like(x), torch.full_like(x, 3.0))

    def student(x, t, c):
        return torch.zeros_like(x)

    loss = U.esd_loss(student, teacher, D.DDPMSchedule(T=10), 8, n=4, eta=2.0, shape=(3,))
    assert loss.item() == pytest.approx((1 - 2 * (3 - 1)) ** 2)        # target −3 everywhere


def test_sdd_loss_targets_the_students_own_null_prediction():
    student = D.TinyCondDenoiser(dim=4, width=8, T=10)
    loss = U.sdd_loss(student, student, D.DDPMSchedule(T=10), 3, n=5, shape=(4,))
    loss.backward()
    assert student.cemb.weight.grad[10].abs().sum() == 0     # the null branch is the stop-gradient target
    assert student.cemb.weight.grad[3].abs().sum() > 0


def _fixed_losses(sched, seed=0, n=6, dim=4):
    g = torch.Generator().manual_seed(seed)

    def make(c):
        x, t, e = torch.randn(n, dim, generator=g), torch.randint(0, sched.T, (n,), generator=g), torch.randn(n, dim, generator=g)
        cc = torch.full((n,), c)
        return lambda f: D.ddpm_loss(f, sched, x, cc, t=t, eps=e)
    return make


def test_first_order_meta_gradient_equals_sum_of_the_two_gradient_terms():
    torch.manual_seed(0)
    sched = D.DDPMSchedule(T=10)
    model = D.TinyCondDenoiser(dim=4, width=8, T=10)
    make = _fixed_losses(sched)
    unlearn_l, attack, meta_l = make(1), [make(2), make(2), make(2)], make(3)
    cfg = U.MetaConfig(k_inner=3, inner_lr=1e-2, inner_opt="adam")
    got = U.outer_gradient(model, unlearn_l, meta=cfg, attack_losses=attack, meta_loss=lambda f: 0.5 * meta_l(f))

    params = list(model.parameters())
    term1 = torch.autograd.grad(unlearn_l(model), params)
    sim = copy.deepcopy(model)
    opt = torch.optim.Adam(sim.parameters(), 1e-2)
    for a in attack:
        opt.zero_grad()
        a(sim).backward()
        opt.step()
    term2 = torch.autograd.grad(-0.5 * meta_l(sim), list(sim.parameters()))
    for g, a, b in zip(got, term1, term2):
        assert torch.allclose(g, a + b, atol=1e-6)
    assert any((b.abs() > 0).any() for b in term2)


class TwoParam(nn.Module):
    """ε(x) = a·x + b·x²: a 2-parameter toy denoiser."""

    def __init__(self, a, b):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a, dtype=torch.float64))
        self.b = nn.Parameter(torch.tensor(b, dtype=torch.float64))

    def forward(self, x, t, c):
        return self.a * x + self.b * x ** 2


def test_second_order_gradient_matches_finite_differences_on_a_2_parameter_toy():
    g = torch.Generator().manual_seed(0)
    xs = [torch.randn(8, 3, generator=g, dtype=torch.float64) for _ in range(4)]
    ys = [torch.randn(8, 3, generator=g, dtype=torch.float64) for _ in range(4)]

    def mse(i):
        return lambda f: ((f(xs[i], None, None) - ys[i]) ** 2).mean()

    unlearn_l, attack, meta_l, lr = mse(0), [mse(1), mse(2)], mse(3), 0.3
    cfg = U.MetaConfig(k_inner=2, inner_lr=lr, inner_opt="sgd", first_order=False)

    def J(a, b):   # L_unlearn(θ) − L_meta(θ′(θ)), θ′ = two SGD steps; by hand
        m = TwoParam(a, b)
        for loss in attack:
            ga, gb = torch.autograd.grad(loss(m), [m.a, m.b])
            m = TwoParam((m.a - lr * ga).item(), (m.b - lr * gb).item())
        return unlearn_l(TwoParam(a, b)).item() - meta_l(m).item()

    a, b, h = 0.4, -0.2, 1e-5
    fd = [(J(a + h, b) - J(a - h, b)) / (2 * h), (J(a, b + h) - J(a, b - h)) / (2 * h)]
    got = U.outer_gradient(TwoParam(a, b), unlearn_l, meta=cfg, attack_losses=attack, meta_loss=meta_l)
    assert [x.item() for x in got] == pytest.approx(fd, rel=1e-6, abs=1e-8)
    first = U.outer_gradient(TwoParam(a, b), unlearn_l, meta=U.MetaConfig(k_inner=2, inner_lr=lr, inner_opt="sgd"),
                             attack_losses=attack, meta_loss=meta_l)
    assert max(abs(f.item() - s.item()) for f, s in zip(first, got)) > 1e-3   # the Jacobian matters here


def test_meta_config_validation():
    with pytest.raises(ValueError, match="inner_opt"):
        U.MetaConfig(inner_opt="rmsprop")
    with pytest.raises(ValueError, match="second-order"):
        U.MetaConfig(first_order=False, inner_opt="adam")
    with pytest.raises(ValueError, match="k_inner"):
        U.MetaConfig(k_inner=0)
