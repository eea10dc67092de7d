"""Unlearning a concept from a conditional diffusion model, and meta-unlearning (Gao et al., arXiv
2410.12777) as the official code (sail-sg/Meta-Unlearning, ``src/esd_meta.py``, ``src/sdd_meta.py``)
runs it.

A denoiser is any callable ``eps(x, t, c)``; concepts are class indices, ``null`` the unconditional one.
Data comes from an object with ``batch(pool, n, generator) -> (x, c)``, pools named as in the official
code: ``hrm`` (the unlearned concept's training images), ``hrm_test`` (its held-out images), ``tgt``
(related benign concepts), ``irt`` (unrelated concepts) and ``attack`` (the attacker's images).

Per outer step: θ.grad = ∇L_unlearn(θ) + γ₁₁∇L_DM(θ; irt) + γ₁₂∇L_DM(θ; tgt) − ∇_θ[γ₂₁ L_DM(θ′; hrm_test)
+ γ₂₂ L_DM(θ′; tgt) + γ₂₃ L_DM(θ′; irt)], with θ′ = k simulated attack steps on ``hrm`` from θ; the
release evaluates the last gradient at θ′ and adds it to θ (first order); ``first_order=False``
differentiates through the k (SGD) steps with ``torch.func``."""
from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from lib.core import diffusion as D

LossOf = Callable[[D.EpsFn], torch.Tensor]   # a loss as a function of the denoiser


def esd_target(e_null: torch.Tensor, e_concept: torch.Tensor, eta: float) -> torch.Tensor:
    """ESD's negatively guided target ε*(x, t, ∅) − η·(ε*(x, t, c) − ε*(x, t, ∅)) from the frozen
    original model's predictions (``concept_scale`` η; 3.0 in the release, 1.0 in our toy)."""
    return e_null - eta * (e_concept - e_null)


def _draw_level(sched: D.DDPMSchedule, generator: torch.Generator, timesteps: Sequence[int] | None) -> int:
    if timesteps is None:
        return int(torch.randint(0, sched.T, (1,), generator=generator))
    return int(timesteps[int(torch.randint(0, len(timesteps), (1,), generator=generator))])


def _noised_at_random_level(sampler: D.EpsFn, sched: D.DDPMSchedule, concept: int, n: int, sample_w: float,
                            null: int, shape: Sequence[int], generator: torch.Generator | None,
                            timesteps: Sequence[int] | None, device: str | torch.device
                            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x_t (n, *shape) from ``sampler``'s guided sampler (prompt ``concept``) stopped at a random level t,
    with t and the concept as (n,) long tensors: the inputs of the ESD and SDD losses."""
    generator = generator or torch.Generator().manual_seed(0)
    t = _draw_level(sched, generator, timesteps)
    x = D.sample(sampler, sched, concept, n, shape=shape, w=sample_w, null=null, to_level=t,
                 timesteps=timesteps, generator=generator, device=device)
    tt = torch.full((n,), t, dtype=torch.long, device=device)
    return x, tt, torch.full((n,), concept, dtype=torch.long, device=device)


def esd_loss(student: D.EpsFn, teacher: D.EpsFn, sched: D.DDPMSchedule, concept: int, *, n: int = 64,
             eta: float = 1.0, sample_w: float = 1.0, null: int = 10, shape: Sequence[int] = (64,),
             generator: torch.Generator | None = None, timesteps: Sequence[int] | None = None,
             device: str | torch.device = "cpu") -> torch.Tensor:
    """ESD: x_t from the *student's* own guided sampler (prompt ``concept``) stopped at a random level
    t, and ‖ε_θ(x_t, t, c) − [ε*(x_t, t, ∅) − η(ε*(x_t, t, c) − ε*(x_t, t, ∅))]‖²."""
    x, tt, c = _noised_at_random_level(student, sched, concept, n, sample_w, null, shape, generator,
                                       timesteps, device)
    with torch.no_grad():
        target = esd_target(teacher(x, tt, torch.full_like(c, null)), teacher(x, tt, c), eta)
    return F.mse_loss(student(x, tt, c), target)


def sdd_loss(student: D.EpsFn, teacher: D.EpsFn, sched: D.DDPMSchedule, concept: int, *, n: int = 64,
             sample_w: float = 2.0, null: int = 10, shape: Sequence[int] = (64,),
             generator: torch.Generator | None = None, timesteps: Sequence[int] | None = None,
             device: str | torch.device = "cpu") -> torch.Tensor:
    """SDD (self-distillation): x_t from the *teacher's* guided sampler, and
    ‖ε_θ(x_t, t, c) − sg[ε_θ(x_t, t, ∅)]‖², towards the student's own unconditional prediction."""
    x, tt, c = _noised_at_random_level(teacher, sched, concept, n, sample_w, null, shape, generator,
                                       timesteps, device)
    with torch.no_grad():
        target = student(x, tt, torch.full_like(c, null))
    return F.mse_loss(student(x, tt, c), target)


@dataclass(frozen=True)
class MetaConfig:
    """The meta term: ascent weights at θ′ on ``hrm_test`` (γ₂₁), ``tgt`` (γ₂₂), ``irt`` (γ₂₃); k
    simulated attack steps (``inner_opt`` "adam" as the release's AdamW, or "sgd") at ``inner_lr``."""
    gamma21: float = 0.1
    gamma22: float = 0.1
    gamma23: float = 0.0
    k_inner: int = 5
    inner_lr: float = 1e-3
    inner_opt: str = "adam"
    inner_batch: int = 64
    first_order: bool = True

    def __post_init__(self) -> None:
        if self.inner_opt not in ("adam", "sgd"):
            raise ValueError(f"inner_opt must be 'adam' or 'sgd', got {self.inner_opt!r}")
        if not self.first_order and self.inner_opt != "sgd":
            raise ValueError("the exact second-order meta gradient differentiates through SGD steps: "
                             "set inner_opt='sgd' with first_order=False")
        if not isinstance(self.k_inner, int) or self.k_inner < 1:
            raise ValueError(f"k_inner must be a positive int, got {self.k_inner!r}")
        if min(self.gamma21, self.gamma22, self.gamma23) < 0 or self.inner_lr <= 0:
            raise ValueError("the γ₂ weights must be >= 0 and inner_lr > 0")


def _params(model: nn.Module) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.requires_grad]


def meta_gradient(model: nn.Module, attack_losses: Sequence[LossOf], meta_loss: LossOf, *, inner_lr: float,
                  inner_opt: str = "adam", first_order: bool = True) -> list[torch.Tensor]:
    """The gradient of −meta_loss(θ′) for θ′ = the attack steps ``attack_losses`` (one loss per step)
    applied to a copy of ``model``. First order (the release): ∇ taken at θ′ and used for θ as is.
    Second order: the exact d/dθ through the SGD steps (``torch.func``)."""
    if first_order:
        sim = copy.deepcopy(model)
        params = _params(sim)
        opt = (torch.optim.Adam(params, inner_lr) if inner_opt == "adam" else torch.optim.SGD(params, inner_lr))
        for loss_of in attack_losses:
            opt.zero_grad()
            loss_of(sim).backward()
            opt.step()
        grads = torch.autograd.grad(-meta_loss(sim), params, allow_unused=True)
        return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]
    if inner_opt != "sgd":
        raise ValueError("the second-order meta gradient supports inner_opt='sgd' only")
    names = [n for n, p in model.named_parameters() if p.requires_grad]

    def as_fn(p: Mapping[str, torch.Tensor]) -> D.EpsFn:
        return lambda x, t, c: functional_call(model, dict(p), (x, t, c))

    def objective(p: dict[str, torch.Tensor]) -> torch.Tensor:
        for loss_of in attack_losses:
            g = torch.func.grad(lambda q: loss_of(as_fn(q)))(p)
            p = {k: p[k] - inner_lr * g[k] for k in p}
        return -meta_loss(as_fn(p))

    start = {n: p.detach() for n, p in model.named_parameters() if n in names}
    grads = torch.func.grad(objective)(start)
    return [grads[n] for n in names]


def outer_gradient(model: nn.Module, unlearn_loss: LossOf, *, meta: MetaConfig | None = None,
                   attack_losses: Sequence[LossOf] = (), meta_loss: LossOf | None = None) -> list[torch.Tensor]:
    """∇_θ of the unlearning loss (with its retain terms) plus, with ``meta``, the meta gradient."""
    params = _params(model)
    grads = list(torch.autograd.grad(unlearn_loss(model), params, allow_unused=True))
    grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]
    if meta is not None:
        if meta_loss is None or len(attack_losses) == 0:
            raise ValueError("the meta term needs attack_losses and meta_loss")
        mg = meta_gradient(model, attack_losses, meta_loss, inner_lr=meta.inner_lr, inner_opt=meta.inner_opt,
                           first_order=meta.first_order)
        grads = [a + b for a, b in zip(grads, mg)]
    return grads


def _dm(data, pool: str, n: int, g: torch.Generator, sched: D.DDPMSchedule, *, p_uncond: float = 0.0,
        null: int = 10) -> LossOf:
    """A fixed-batch diffusion loss on ``pool`` (the batch, t, ε and dropped labels drawn now), as a
    function of the denoiser."""
    x, c = data.batch(pool, n, g)
    t = torch.randint(0, sched.T, (n,), generator=g).to(x.device)
    eps = torch.randn(x.shape, generator=g).to(x.device)
    c = D.drop_labels(c, p_uncond, null, generator=g)
    return lambda f: D.ddpm_loss(f, sched, x, c, t=t, eps=eps)


def unlearn(model: nn.Module, sched: D.DDPMSchedule, data, concept: int, *, base: str = "esd", steps: int = 300,
            lr: float = 5e-4, n: int = 64, n_base: int | None = None, eta: float = 1.0, sample_w: float | None = None,
            gamma11: float = 1.0, gamma12: float = 1.0, p_uncond: float = 0.15, meta: MetaConfig | None = None,
            null: int = 10, shape: Sequence[int] = (64,), clip: float = 1.0, seed: int = 0,
            timesteps: Sequence[int] | None = None, device: str | torch.device = "cpu",
            log_every: int = 0) -> tuple[nn.Module, pd.DataFrame]:
    """Unlearn ``concept`` from a copy of ``model`` (the frozen original is the teacher): ``steps``
    Adam steps on the ``base`` loss ("esd" or "sdd", on ``n_base`` sampled x_t, default ``n``), plus retain terms γ₁₁ L_DM(irt) + γ₁₂ L_DM(tgt)
    with label dropout (to keep the unconditional branch that guidance uses), plus the ``meta`` term.
    Returns the unlearned model and its loss history."""
    if base not in ("esd", "sdd"):
        raise ValueError(f"base must be 'esd' or 'sdd', got {base!r}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    teacher = copy.deepcopy(model).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    student = copy.deepcopy(model).train()
    params = _params(student)
    opt = torch.optim.Adam(params, lr)
    g = torch.Generator().manual_seed(seed)
    w = sample_w if sample_w is not None else (1.0 if base == "esd" else 2.0)
    rows = []
    for step in range(steps):
        if base == "esd":
            base_l = esd_loss(student, teacher, sched, concept, n=n_base or n, eta=eta, sample_w=w, null=null, shape=shape,
                              generator=g, timesteps=timesteps, device=device)
        else:
            base_l = sdd_loss(student, teacher, sched, concept, n=n_base or n, sample_w=w, null=null, shape=shape,
                              generator=g, timesteps=timesteps, device=device)
        retain = [(gamma11, _dm(data, "irt", n, g, sched, p_uncond=p_uncond, null=null)),
                  (gamma12, _dm(data, "tgt", n, g, sched, p_uncond=p_uncond, null=null))]

        def unlearn_loss(f, base_l=base_l, retain=retain):
            # base_l was computed with the student itself, so it is only valid for f = student.
            return base_l + sum(gm * lf(f) for gm, lf in retain if gm)

        attack, meta_l = (), None
        if meta is not None:
            attack = [_dm(data, "hrm", meta.inner_batch, g, sched, null=null) for _ in range(meta.k_inner)]
            terms = [(meta.gamma21, _dm(data, "hrm_test", n, g, sched, null=null)),
                     (meta.gamma22, _dm(data, "tgt", n, g, sched, null=null)),
                     (meta.gamma23, _dm(data, "irt", n, g, sched, null=null))]

            def meta_l(f, terms=terms):
                return sum(gm * lf(f) for gm, lf in terms if gm)
        grads = outer_gradient(student, unlearn_loss, meta=meta, attack_losses=attack, meta_loss=meta_l)
        for p, gr in zip(params, grads):
            p.grad = gr
        if clip:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        if log_every and (step % log_every == 0 or step == steps - 1):
            rows.append({"step": step, "unlearn_loss": float(base_l)})
    return student.eval(), pd.DataFrame(rows)


def relearn_attack(model: nn.Module, sched: D.DDPMSchedule, data, *, steps: int = 100, lr: float = 1e-3,
                   batch_size: int = 32, every: int = 25, evaluate: Callable[[nn.Module], Mapping[str, float]],
                   seed: int = 0, pool: str = "attack", opt: str = "adam", return_model: bool = False):
    """The relearning attack: finetune a copy of ``model`` on the attacker's images of the unlearned
    concept (their own label, plain L_DM, constant-lr Adam), evaluating every ``every`` steps (and at
    step 0). Returns one row per evaluation: ``step`` and ``evaluate``'s numbers (and, with
    ``return_model``, the attacked model too)."""
    if opt not in ("adam", "sgd"):
        raise ValueError(f"opt must be 'adam' or 'sgd', got {opt!r}")
    m = copy.deepcopy(model).train()
    o = torch.optim.Adam(m.parameters(), lr) if opt == "adam" else torch.optim.SGD(m.parameters(), lr)
    g = torch.Generator().manual_seed(10_000 + seed)
    rows = []
    for step in range(steps + 1):
        if step % every == 0 or step == steps:
            m.eval()
            rows.append({"step": step, **evaluate(m)})
            m.train()
        if step == steps:
            break
        x, c = data.batch(pool, batch_size, g)
        loss = D.ddpm_loss(m, sched, x, c, generator=g)
        o.zero_grad()
        loss.backward()
        o.step()
    return (pd.DataFrame(rows), m.eval()) if return_model else pd.DataFrame(rows)


@torch.no_grad()
def concept_rates(model: D.EpsFn, sched: D.DDPMSchedule, detect: Callable[[torch.Tensor], torch.Tensor],
                  counts: Mapping[int, int], *, w: float = 2.0, null: int = 10, shape: Sequence[int] = (64,),
                  seed: int = 1234, timesteps: Sequence[int] | None = None) -> dict[int, float]:
    """For each concept c, the fraction of ``counts[c]`` guided samples conditioned on c that the
    detector labels c (the paper's nudity rate is this for c = "nudity"). The noise is fixed by
    ``seed``, so two models are compared on the same starting points."""
    labels = torch.cat([torch.full((k,), c, dtype=torch.long) for c, k in counts.items()])
    x = D.sample(model, sched, labels, shape=shape, w=w, null=null, timesteps=timesteps,
                 generator=torch.Generator().manual_seed(seed))
    hit = (detect(x) == labels).float()
    return {c: float(hit[labels == c].mean()) for c in counts}
