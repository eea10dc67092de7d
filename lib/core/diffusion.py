"""A small DDPM toolkit any chapter can use: the noise schedule (linear or Stable Diffusion's
"scaled linear" β), the ε-prediction loss with label dropout (for classifier-free guidance), ancestral
sampling with classifier-free guidance (optionally stopped at an intermediate noise level, or on a
strided subset of timesteps), a tiny class-conditional MLP denoiser, and its training through the book's
seeded loop (``lib.core.train``).

Conventions: timesteps are 0-indexed, ``t ∈ {0, …, T−1}``; the noisy input at timestep t is
``x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε``; a denoiser is any callable ``eps(x, t, c)`` (``t`` and ``c`` are
integer tensors of shape (n,)); the null (unconditional) class is ``n_classes``. Guidance uses
``ε̃ = (1 + w) ε(x, t, c) − w ε(x, t, ∅)`` (so diffusers' ``guidance_scale`` is ``1 + w``)."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

EpsFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class DDPMSchedule:
    """β_t, α_t = 1 − β_t and ᾱ_t = ∏ α for ``T`` steps; ``beta_schedule`` is ``"linear"`` (β evenly
    spaced) or ``"scaled_linear"`` (√β evenly spaced, Stable Diffusion's), as in diffusers."""

    def __init__(self, T: int = 100, beta_start: float = 1e-4, beta_end: float = 0.05,
                 beta_schedule: str = "linear"):
        if not isinstance(T, int) or T < 2:
            raise ValueError(f"T must be an int >= 2, got {T!r}")
        if not 0 < beta_start <= beta_end < 1:
            raise ValueError(f"need 0 < beta_start <= beta_end < 1, got {beta_start}, {beta_end}")
        if beta_schedule == "linear":
            betas = torch.linspace(beta_start, beta_end, T, dtype=torch.float64)
        elif beta_schedule == "scaled_linear":
            betas = torch.linspace(beta_start ** 0.5, beta_end ** 0.5, T, dtype=torch.float64) ** 2
        else:
            raise ValueError(f"beta_schedule must be 'linear' or 'scaled_linear', got {beta_schedule!r}")
        self.T = T
        self.betas = betas.float()
        self.alphas = (1 - betas).float()
        self.alphas_bar = torch.cumprod(1 - betas, 0).float()

    def add_noise(self, x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The forward process q(x_t | x_0): √ᾱ_t x_0 + √(1−ᾱ_t) ε (t broadcast over the batch)."""
        ab = self._per_row(self.alphas_bar, t, x0)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * eps

    @staticmethod
    def _per_row(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        v = values.to(like.device)[t]
        return v.reshape(-1, *([1] * (like.ndim - 1))).to(like.dtype)

    def step(self, eps: torch.Tensor, t: int, x: torch.Tensor, noise: torch.Tensor | None = None, *,
             prev_t: int | None = None, variance: str = "fixed_small") -> torch.Tensor:
        """One ancestral step from timestep ``t`` to ``prev_t`` (default t − 1; −1 means x_0), given
        the predicted ε: the posterior mean of q(x_prev | x_t, x̂_0) plus σ·noise, with σ² the posterior
        variance (``fixed_small``, diffusers' default) or β (``fixed_large``, DDPM's other choice). On a
        strided schedule β is the effective 1 − ᾱ_t/ᾱ_prev. No noise is added on the last step."""
        prev_t = t - 1 if prev_t is None else prev_t
        ab_t = self.alphas_bar[t]
        ab_prev = self.alphas_bar[prev_t] if prev_t >= 0 else torch.tensor(1.0)
        beta = 1 - ab_t / ab_prev
        x0_hat = (x - (1 - ab_t).sqrt() * eps) / ab_t.sqrt()
        mean = (ab_prev.sqrt() * beta / (1 - ab_t)) * x0_hat + ((1 - beta).sqrt() * (1 - ab_prev) / (1 - ab_t)) * x
        if prev_t < 0 or noise is None:
            return mean
        if variance == "fixed_small":
            var = beta * (1 - ab_prev) / (1 - ab_t)
        elif variance == "fixed_large":
            var = beta
        else:
            raise ValueError(f"variance must be 'fixed_small' or 'fixed_large', got {variance!r}")
        return mean + var.clamp(min=1e-20).sqrt() * noise


def drop_labels(c: torch.Tensor, p_uncond: float, null: int, *,
                generator: torch.Generator | None = None, u: torch.Tensor | None = None) -> torch.Tensor:
    """Replace each label by the null class with probability ``p_uncond`` (or where ``u < p_uncond``
    for given uniforms ``u``): classifier-free guidance's label dropout."""
    if not 0 <= p_uncond <= 1:
        raise ValueError(f"p_uncond must be in [0, 1], got {p_uncond!r}")
    if p_uncond == 0:
        return c
    u = torch.rand(c.shape, generator=generator) if u is None else u
    return torch.where(u.to(c.device) < p_uncond, torch.full_like(c, null), c)


def ddpm_loss(eps_fn: EpsFn, sched: DDPMSchedule, x0: torch.Tensor, c: torch.Tensor, *,
              t: torch.Tensor | None = None, eps: torch.Tensor | None = None, p_uncond: float = 0.0,
              null: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """The ε-prediction loss ‖ε_θ(x_t, t, c) − ε‖² (mean over elements), with t ~ U{0..T−1} and
    ε ~ N(0, I) drawn unless given, and labels dropped to ``null`` with probability ``p_uncond``."""
    n = x0.shape[0]
    if t is None:
        t = torch.randint(0, sched.T, (n,), generator=generator).to(x0.device)
    if eps is None:
        eps = torch.randn(x0.shape, generator=generator).to(x0.device)
    if p_uncond > 0:
        if null is None:
            raise ValueError("label dropout (p_uncond > 0) needs the null class index")
        c = drop_labels(c, p_uncond, null, generator=generator)
    return F.mse_loss(eps_fn(sched.add_noise(x0, eps, t), t, c), eps)


def guided_eps(eps_fn: EpsFn, x: torch.Tensor, t: torch.Tensor, c: torch.Tensor, w: float,
               null: int) -> torch.Tensor:
    """Classifier-free guidance (1 + w)·ε(x, t, c) − w·ε(x, t, ∅), both branches in one batch."""
    if w == 0:
        return eps_fn(x, t, c)
    out = eps_fn(torch.cat([x, x]), torch.cat([t, t]), torch.cat([c, torch.full_like(c, null)]))
    e_c, e_u = out.chunk(2)
    return (1 + w) * e_c - w * e_u


@torch.no_grad()
def sample(eps_fn: EpsFn, sched: DDPMSchedule, c: torch.Tensor | int, n: int | None = None, *,
           shape: Sequence[int] = (64,), w: float = 2.0, null: int = 10, to_level: int = -1,
           timesteps: Sequence[int] | None = None, generator: torch.Generator | None = None,
           x: torch.Tensor | None = None, variance: str = "fixed_large",
           device: torch.device | str = "cpu") -> torch.Tensor:
    """Ancestral sampling with classifier-free guidance ``w``, one row per label in ``c`` (or ``n``
    rows of class ``c``), from x ~ N(0, I) (or the given ``x``) at timestep T−1 down to ``to_level``:
    −1 returns samples x_0; t ≥ 0 returns the partially denoised x_t (ESD's training inputs).
    ``timesteps`` (decreasing) samples on a strided subset, as a 50-step sampler does for a 1000-step
    model. ``variance`` is the per-step noise (``fixed_large``: β_t)."""
    if isinstance(c, int):
        if n is None:
            raise ValueError("give n, the number of samples, with an integer class")
        c = torch.full((n,), c, dtype=torch.long)
    c = c.to(device)
    steps = list(range(sched.T - 1, -1, -1)) if timesteps is None else [int(s) for s in timesteps]
    if any(a <= b for a, b in zip(steps, steps[1:])):
        raise ValueError("timesteps must be strictly decreasing")
    if not -1 <= to_level < sched.T:
        raise ValueError(f"to_level must be in [-1, {sched.T - 1}], got {to_level}")
    if x is None:
        x = torch.randn((len(c), *shape), generator=generator).to(device)
    path = [s for s in steps if s > to_level]
    for i, s in enumerate(path):
        prev = path[i + 1] if i + 1 < len(path) else to_level
        tt = torch.full((len(c),), s, dtype=torch.long, device=device)
        e = guided_eps(eps_fn, x, tt, c, w, null)
        noise = torch.randn(x.shape, generator=generator).to(device) if prev >= 0 else None
        x = sched.step(e, s, x, noise, prev_t=prev, variance=variance)
    return x


class TinyCondDenoiser(nn.Module):
    """A class-conditional ε-prediction MLP for flattened small images: input → width, plus a learned
    time embedding and class embedding (index ``n_classes`` is the null class), ``n_blocks`` residual
    SiLU–Linear blocks, then SiLU–Linear back to the input size (about 0.2M parameters at the defaults)."""

    def __init__(self, dim: int = 64, n_classes: int = 10, width: int = 256, T: int = 100, n_blocks: int = 2):
        super().__init__()
        self.dim, self.n_classes, self.null = dim, n_classes, n_classes
        self.inp = nn.Linear(dim, width)
        self.temb = nn.Embedding(T, width)
        self.cemb = nn.Embedding(n_classes + 1, width)
        self.blocks = nn.ModuleList(nn.Linear(width, width) for _ in range(n_blocks))
        self.out = nn.Linear(width, dim)

    def forward(self, x: torch.Tensor, t: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.inp(x) + self.temb(t) + self.cemb(c)
        for block in self.blocks:
            h = h + block(F.silu(h))
        return self.out(F.silu(h))


def train_denoiser(model: nn.Module, sched: DDPMSchedule, X: torch.Tensor, Y: torch.Tensor, *, steps: int,
                   lr: float = 2e-3, batch_size: int = 128, p_uncond: float = 0.15, seed: int = 0,
                   weight_decay: float = 0.0, progress: bool = False):
    """Train a conditional denoiser on images ``X`` (N, ...) with labels ``Y`` through the book's loop
    (AdamW, short warm-up, cosine decay); the batch, timesteps, noise and dropped labels of each step are
    a function of (seed, step). Returns the loss history (a DataFrame)."""
    from lib.core.train import TrainConfig, step_generator, train

    null = getattr(model, "null", None)
    if p_uncond > 0 and null is None:
        raise ValueError("label dropout needs a model with a `null` class index")

    def batches(step: int) -> dict[str, torch.Tensor]:
        g = step_generator(seed, step)
        idx = torch.randint(0, len(X), (batch_size,), generator=g)
        c = drop_labels(Y[idx], p_uncond, null if null is not None else -1, generator=g)
        return {"x0": X[idx], "c": c, "t": torch.randint(0, sched.T, (batch_size,), generator=g),
                "eps": torch.randn(X[idx].shape, generator=g)}

    def loss_fn(m: nn.Module, b: dict[str, torch.Tensor]) -> torch.Tensor:
        return ddpm_loss(m, sched, b["x0"], b["c"], t=b["t"], eps=b["eps"])

    cfg = TrainConfig(steps=steps, lr=lr, weight_decay=weight_decay, betas=(0.9, 0.999))
    return train(model, batches, cfg, loss_fn=loss_fn, progress=progress)
