"""The CPU task of chapter 05: a class-conditional DDPM on scikit-learn's 8×8 digits, with a digit
classifier as the concept detector (NudeNet's role in the paper). Concepts are digit classes: the
unlearned concept ``u`` (the paper's "nudity"), a related benign concept ``r`` (the paper's "woman",
"skin") and the other digits (the paper's unrelated COCO objects)."""
from __future__ import annotations

import gzip
from dataclasses import dataclass

import numpy as np
import torch

from lib.book import data
from lib.core import diffusion as D

N_CLASSES = 10
NULL = N_CLASSES


def load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The 1797 digits as (X, Y): X flattened 8×8 images scaled to [−1, 1], Y the labels 0..9."""
    with gzip.open(data.get("sklearn_digits"), "rt") as f:
        arr = np.loadtxt(f, delimiter=",")
    X = torch.tensor(arr[:, :-1] / 8.0 - 1.0, dtype=torch.float32)
    return X, torch.tensor(arr[:, -1], dtype=torch.long)


@dataclass
class DigitsTask:
    """A seeded split of the digits: the first ``n_train`` of a permutation train the DDPM and the
    detector; the held-out images of class ``u`` are cut in two disjoint halves, the defender's test set
    (the meta objective's D_hrm^test) and the attacker's finetuning set."""
    X: torch.Tensor
    Y: torch.Tensor
    train: torch.Tensor      # indices
    heldout: torch.Tensor
    u: int
    r: int
    seed: int
    attack_limit: int | None = None   # keep only the attacker's first images (a weaker attacker)

    def idx(self, pool: str) -> torch.Tensor:
        """Index sets: ``hrm`` (class u, train), ``tgt`` (class r, train), ``irt`` (other digits, train),
        ``hrm_test`` (defender's held-out u), ``attack`` (attacker's held-out u)."""
        y_tr, y_ho = self.Y[self.train], self.Y[self.heldout]
        held_u = self.heldout[y_ho == self.u]
        pools = {"hrm": self.train[y_tr == self.u], "tgt": self.train[y_tr == self.r],
                 "irt": self.train[(y_tr != self.u) & (y_tr != self.r)],
                 "hrm_test": held_u[: len(held_u) // 2], "attack": held_u[len(held_u) // 2:][:self.attack_limit]}
        if pool not in pools:
            raise ValueError(f"pool must be one of {sorted(pools)}, got {pool!r}")
        return pools[pool]

    def batch(self, pool: str, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` images (with replacement) and their labels from a pool."""
        ids = self.idx(pool)
        pick = ids[torch.randint(0, len(ids), (n,), generator=generator)]
        return self.X[pick], self.Y[pick]

    @property
    def others(self) -> list[int]:
        return [c for c in range(N_CLASSES) if c not in (self.u, self.r)]


def make_task(seed: int, *, u: int = 8, r: int = 9, n_train: int = 1400) -> DigitsTask:
    """The digits split by a permutation drawn from ``seed``."""
    for name, v in (("u", u), ("r", r)):
        if not isinstance(v, int) or not 0 <= v < N_CLASSES:
            raise ValueError(f"{name} must be a digit 0..9, got {v!r}")
    if u == r:
        raise ValueError(f"the unlearned digit u and the related digit r must differ, got both {u}")
    X, Y = load_digits()
    if not 100 <= n_train <= len(X) - 100:
        raise ValueError(f"n_train must be in [100, {len(X) - 100}], got {n_train}")
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    return DigitsTask(X, Y, perm[:n_train], perm[n_train:], u, r, seed)


class Detector:
    """Multinomial logistic regression on pixels, fitted by L-BFGS with an L2 penalty (scikit-learn's
    ``LogisticRegression(C=…)`` objective: Σ CE + ‖W‖²/(2C)); the concept detector of the toy."""

    def __init__(self, X: torch.Tensor, Y: torch.Tensor, *, C: float = 0.5, n_classes: int = N_CLASSES):
        self.W = torch.zeros(X.shape[1], n_classes, requires_grad=True)
        self.b = torch.zeros(n_classes, requires_grad=True)
        opt = torch.optim.LBFGS([self.W, self.b], max_iter=500, tolerance_grad=1e-6, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(X @ self.W + self.b, Y, reduction="sum") + (self.W ** 2).sum() / (2 * C)
            loss.backward()
            return loss
        opt.step(closure)
        self.W, self.b = self.W.detach(), self.b.detach()

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        X = torch.nan_to_num(X.clamp(-1, 1))
        return (X @ self.W + self.b).argmax(1)

    def accuracy(self, X: torch.Tensor, Y: torch.Tensor) -> float:
        return float((self.predict(X) == Y).float().mean())


def fit_detector(task: DigitsTask, C: float = 0.5) -> Detector:
    """The detector, trained on the task's training images only."""
    return Detector(task.X[task.train], task.Y[task.train], C=C)


def schedule(T: int = 100) -> D.DDPMSchedule:
    """The toy's DDPM: T steps, linear β from 1e-4 to 0.05."""
    return D.DDPMSchedule(T=T, beta_start=1e-4, beta_end=0.05)


def pretrain(task: DigitsTask, *, steps: int = 3000, width: int = 256, lr: float = 2e-3, batch_size: int = 128,
             p_uncond: float = 0.15, T: int = 100) -> tuple[D.TinyCondDenoiser, D.DDPMSchedule, object]:
    """The base model: a tiny conditional denoiser trained on every training digit (with label
    dropout for guidance); returns (model, schedule, loss history)."""
    torch.manual_seed(task.seed)   # the initialisation
    model = D.TinyCondDenoiser(dim=64, n_classes=N_CLASSES, width=width, T=T)
    sched = schedule(T)
    hist = D.train_denoiser(model, sched, task.X[task.train], task.Y[task.train], steps=steps, lr=lr,
                            batch_size=batch_size, p_uncond=p_uncond, seed=task.seed)
    return model.eval(), sched, hist


def evaluator(task: DigitsTask, detector: Detector, sched: D.DDPMSchedule, *, n_focus: int = 200,
              n_other: int = 50, w: float = 2.0, seed: int = 1234):
    """The rates the chapter tracks, as a function of a model: ``rate_u`` (unlearned digit),
    ``rate_rel`` (related digit), ``rate_other`` (mean over the other eight) and ``rate_other_min``."""
    from lib.meta_unlearning.unlearn import concept_rates
    counts = {task.u: n_focus, task.r: n_focus, **{c: n_other for c in task.others}}

    def evaluate(model) -> dict[str, float]:
        r = concept_rates(model, sched, detector.predict, counts, w=w, null=NULL, seed=seed)
        other = [r[c] for c in task.others]
        return {"rate_u": r[task.u], "rate_rel": r[task.r], "rate_other": float(np.mean(other)),
                "rate_other_min": float(np.min(other))}
    return evaluate


def run_arms(task: DigitsTask, model, sched: D.DDPMSchedule, detector: Detector, arms: dict, *,
             attack_steps: int = 100, attack_lr: float = 1e-3, attack_batch: int = 32, every: int = 25,
             n_focus: int = 200, n_other: int = 50, **unlearn_kw):
    """Unlearn with each arm (name → keyword arguments of ``unlearn``, e.g. ``base`` and ``meta``), then
    run the same relearning attack on each; returns (curves: one row per arm and checkpoint, models:
    arm → (unlearned model, attacked model))."""
    import pandas as pd

    from lib.meta_unlearning.unlearn import relearn_attack, unlearn
    evaluate = evaluator(task, detector, sched, n_focus=n_focus, n_other=n_other)
    frames, models = [], {}
    for name, kw in arms.items():
        m, _ = unlearn(model, sched, task, task.u, null=NULL, seed=task.seed, **{**unlearn_kw, **kw})
        curve, attacked = relearn_attack(m, sched, task, steps=attack_steps, lr=attack_lr, batch_size=attack_batch,
                                         every=every, evaluate=evaluate, seed=task.seed, return_model=True)
        models[name] = (m, attacked)
        frames.append(curve.assign(arm=name, seed=task.seed))
    return pd.concat(frames, ignore_index=True), models
