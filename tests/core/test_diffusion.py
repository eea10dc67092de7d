"""lib.core.diffusion: the DDPM schedule and sampler against diffusers' DDPMScheduler (when diffusers
is installed) and against closed forms; the loss, label dropout, guidance and the tiny denoiser."""
import math

import pytest
import torch

from lib.core import diffusion as D


def test_schedule_closed_form():
    s = D.DDPMSchedule(T=100, beta_start=1e-4, beta_end=0.05)
    assert torch.allclose(s.betas[[0, -1]], torch.tensor([1e-4, 0.05]))
    assert math.isclose(float(s.betas[1] - s.betas[0]), (0.05 - 1e-4) / 99, rel_tol=1e-4)
    expect = math.prod(1 - (1e-4 + i * (0.05 - 1e-4) / 99) for i in range(100))
    assert math.isclose(float(s.alphas_bar[-1]), expect, rel_tol=1e-5)
    sl = D.DDPMSchedule(T=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
    assert math.isclose(float(sl.betas[500]), (0.00085 ** 0.5 + 500 * (0.012 ** 0.5 - 0.00085 ** 0.5) / 999) ** 2,
                        rel_tol=1e-5)
    with pytest.raises(ValueError, match="beta_schedule"):
        D.DDPMSchedule(beta_schedule="cosine")


def test_schedule_and_step_match_diffusers_ddpmscheduler():
    diffusers = pytest.importorskip("diffusers")
    for kw in [dict(T=100, beta_start=1e-4, beta_end=0.05, beta_schedule="linear"),
               dict(T=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")]:
        ours = D.DDPMSchedule(**kw)
        ref = diffusers.DDPMScheduler(num_train_timesteps=kw["T"], beta_start=kw["beta_start"],
                                      beta_end=kw["beta_end"], beta_schedule=kw["beta_schedule"],
                                      clip_sample=False, variance_type="fixed_small")
        assert torch.allclose(ours.alphas_bar, ref.alphas_cumprod, rtol=1e-5, atol=1e-7)
        x0, eps = torch.randn(4, 8), torch.randn(4, 8)
        t = torch.tensor([0, 3, kw["T"] // 2, kw["T"] - 1])
        assert torch.allclose(ours.add_noise(x0, eps, t), ref.add_noise(x0, eps, t), atol=1e-5)
        x, e = torch.randn(4, 8), torch.randn(4, 8)
        for step in (kw["T"] - 1, 10, 0):
            g = torch.Generator().manual_seed(step)
            want = ref.step(e, step, x, generator=g).prev_sample
            noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(step))
            got = ours.step(e, step, x, noise if step > 0 else None)
            assert torch.allclose(got, want, atol=1e-4), step


def test_step_without_noise_is_the_eps_form_posterior_mean():
    s = D.DDPMSchedule(T=100)
    x, e, t = torch.randn(3, 5), torch.randn(3, 5), 40
    mean = (x - s.betas[t] / (1 - s.alphas_bar[t]).sqrt() * e) / s.alphas[t].sqrt()
    assert torch.allclose(s.step(e, t, x), mean, atol=1e-5)


def test_sampling_with_the_true_eps_recovers_a_point_mass():
    """With the exact ε of a point mass x_0 = a, the deterministic steps land on a."""
    s = D.DDPMSchedule(T=50)
    a = torch.tensor([0.5, -0.25])

    def eps_fn(x, t, c):
        ab = s.alphas_bar[t][:, None]
        return (x - ab.sqrt() * a) / (1 - ab).sqrt()

    out = D.sample(eps_fn, s, 0, 3, shape=(2,), w=0.0, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(out, a.expand(3, 2), atol=1e-4)
    strided = D.sample(eps_fn, s, 0, 3, shape=(2,), w=0.0, timesteps=range(49, -1, -7),
                       generator=torch.Generator().manual_seed(0))
    assert torch.allclose(strided, a.expand(3, 2), atol=1e-4)


def test_guidance_formula_and_partial_sampling_level():
    calls = []

    def eps_fn(x, t, c):
        calls.append(t[0].item())
        return torch.where(c[:, None] == 10, torch.zeros_like(x), torch.ones_like(x))

    e = D.guided_eps(eps_fn, torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), torch.tensor([1, 2]), 2.0, 10)
    assert torch.allclose(e, torch.full((2, 3), 3.0))   # (1 + w)·1 − w·0
    calls.clear()
    D.sample(eps_fn, D.DDPMSchedule(T=20), 1, 2, shape=(3,), w=0.0, to_level=12)
    assert calls == list(range(19, 12, -1))              # stops after producing x_12


def test_label_dropout_rate_and_loss_grad():
    c = torch.zeros(20000, dtype=torch.long)
    dropped = D.drop_labels(c, 0.15, 10, generator=torch.Generator().manual_seed(0))
    assert abs((dropped == 10).float().mean().item() - 0.15) < 0.01
    m = D.TinyCondDenoiser(dim=16, width=32, T=20)
    loss = D.ddpm_loss(m, D.DDPMSchedule(T=20), torch.randn(8, 16), torch.arange(8), p_uncond=0.5, null=10)
    loss.backward()
    assert loss.item() > 0 and m.cemb.weight.grad is not None


def test_tiny_denoiser_learns_two_classes():
    """A few hundred steps separate two point-mass classes under guidance."""
    torch.manual_seed(0)
    s = D.DDPMSchedule(T=20, beta_end=0.2)
    X = torch.cat([torch.full((64, 4), 0.8), torch.full((64, 4), -0.8)])
    Y = torch.cat([torch.zeros(64), torch.ones(64)]).long()
    m = D.TinyCondDenoiser(dim=4, n_classes=2, width=64, T=20)
    hist = D.train_denoiser(m, s, X, Y, steps=300, lr=3e-3, batch_size=64, p_uncond=0.2, seed=0)
    assert hist.loss.iloc[-20:].mean() < hist.loss.iloc[:20].mean()
    g = torch.Generator().manual_seed(1)
    a = D.sample(m, s, 0, 50, shape=(4,), w=1.0, null=2, generator=g).mean().item()
    b = D.sample(m, s, 1, 50, shape=(4,), w=1.0, null=2, generator=g).mean().item()
    assert a > 0.4 and b < -0.4
