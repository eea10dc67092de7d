"""Epistemic reward models and pair selection for contextual dueling bandits.

An anchored deep ensemble (Pearce et al. 2020) of E small MLP heads approximates a posterior over
reward functions; one randomly chosen head is one posterior sample (Thompson sampling). The
regulariser pulls each head towards its own random initialisation with a weight that decays with the
number of oracle queries N_t, as in Liu et al. 2024 (arXiv 2411.01493, sec. 4.2.1; sail-sg/oat
``EnsembleModel``):

    L = mean_pairs[-log sigma(r_e(y_w) - r_e(y_l))] + lambda * (B / N_t) * ||theta - theta_0||^2 / |theta|.

Pair-selection rules take rewards ``R`` of shape (E, M, N) (E posterior samples, M contexts, N
candidate responses) and return two index tensors (M,) into the candidates:

- ``uniform``: two different candidates at random (passive exploration);
- ``greedy``: best and second best under the ensemble mean (no Thompson sampling);
- ``ee_ts``: explore & exploit TS, a = argmax of head k, b = argmax of the first other head that
  disagrees (random candidate if all agree);
- ``bai_ts``: best-arm-identification TS, a = argmax of head k, b = argmax_n of the uncertainty of
  the duel (a, n): ``logit_var`` = Var_e[r_e(a) - r_e(n)] (oat's default) or ``prob_var`` =
  Var_e[sigma(r_e(a) - r_e(n))];
- ``ts_random``: a from head k, b a random other candidate;
- ``uncertainty``: pure exploration (oat's ``EnnUncertainty``), the pair (a, b) of distinct candidates
  with the largest uncertainty of its duel, no posterior sample.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

RULES = ("uniform", "greedy", "ee_ts", "bai_ts", "ts_random", "uncertainty")
UNCERTAINTIES = ("logit_var", "prob_var")


class EnsembleRM(torch.nn.Module):
    """E independent MLP heads r_e: R^d -> R (``depth`` hidden ReLU layers of width ``hidden``),
    computed in parallel with batched matmuls, anchored to their random initial weights.

    Weights start from N(0, 1/fan_in) (oat uses a truncated normal with half that std; the wider
    prior gives a more diverse ensemble at our small scale), biases from 0."""

    def __init__(self, in_dim: int, n_heads: int = 20, hidden: int = 128, depth: int = 2,
                 lam: float = 0.5, generator: torch.Generator | None = None):
        super().__init__()
        for name, value in {"in_dim": in_dim, "n_heads": n_heads, "hidden": hidden, "depth": depth}.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if lam < 0:
            raise ValueError(f"lam must be >= 0, got {lam!r}")
        self.lam = lam
        dims = [in_dim] + [hidden] * depth + [1]
        self.weights = torch.nn.ParameterList(
            torch.nn.Parameter(torch.randn(n_heads, i, o, generator=generator) / math.sqrt(i))
            for i, o in zip(dims[:-1], dims[1:]))
        self.biases = torch.nn.ParameterList(torch.nn.Parameter(torch.zeros(n_heads, 1, o)) for o in dims[1:])
        self.register_buffer("anchor", torch.cat([p.detach().flatten() for p in self.parameters()]))
        self._optimizer: torch.optim.Optimizer | None = None

    @property
    def n_heads(self) -> int:
        return self.weights[0].shape[0]

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """Rewards of every head: feats (..., d) -> (E, ...)."""
        lead = feats.shape[:-1]
        h = feats.reshape(1, -1, feats.shape[-1]).expand(self.n_heads, -1, -1)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w + b
            if i < len(self.weights) - 1:
                h = torch.relu(h)
        return h[..., 0].reshape(self.n_heads, *lead)

    def regularization(self) -> torch.Tensor:
        """Mean squared distance of all parameters to their initial values (the anchor)."""
        flat = torch.cat([p.flatten() for p in self.parameters()])
        return ((flat - self.anchor) ** 2).mean()

    def loss(self, chosen: torch.Tensor, rejected: torch.Tensor, n_queries: int) -> torch.Tensor:
        """Bradley-Terry loss of every head on pairs (n, d) + lam * (n / n_queries) * anchor term."""
        if n_queries < 1:
            raise ValueError(f"n_queries must be >= 1, got {n_queries!r}")
        margin = self(chosen) - self(rejected)                          # (E, n)
        return -F.logsigmoid(margin).mean() + self.lam * len(chosen) / n_queries * self.regularization()

    def fit(self, chosen: torch.Tensor, rejected: torch.Tensor, *, steps: int = 5, batch: int = 128,
            lr: float = 1e-3, weight_decay: float = 5e-5,
            generator: torch.Generator | None = None) -> float:
        """``steps`` Adam steps on minibatches drawn uniformly from the replay buffer of all oracle
        pairs (chosen, rejected): (N_t, d) each, N_t = number of queries so far. Returns the last loss."""
        if len(chosen) == 0:
            return float("nan")
        if self._optimizer is None:
            self._optimizer = torch.optim.Adam(self.parameters(), lr=lr, weight_decay=weight_decay)
        loss = torch.tensor(float("nan"))
        for _ in range(steps):
            idx = torch.randint(len(chosen), (min(batch, len(chosen)),), generator=generator)
            loss = self.loss(chosen[idx], rejected[idx], len(chosen))
            self._optimizer.zero_grad()
            loss.backward()
            self._optimizer.step()
        return float(loss.detach())


def duel_uncertainty(rewards: torch.Tensor, first: torch.Tensor, kind: str = "logit_var") -> torch.Tensor:
    """Uncertainty of the duel (a, n) for every candidate n: rewards (E, M, N), first (M,) -> (M, N).

    ``logit_var``: Var_e[r_e(a) - r_e(n)]; ``prob_var``: Var_e[sigma(r_e(a) - r_e(n))]. Both are 0 at
    n = a. The probability variance is small for pairs whose outcome is certain anyway."""
    if kind not in UNCERTAINTIES:
        raise ValueError(f"uncertainty must be one of {UNCERTAINTIES}, got {kind!r}")
    m = torch.arange(rewards.shape[1])
    diff = rewards[:, m, first][:, :, None] - rewards                    # (E, M, N)
    if kind == "prob_var":
        diff = torch.sigmoid(diff)
    return diff.var(0, unbiased=False)


def pair_uncertainty(rewards: torch.Tensor, kind: str = "logit_var") -> torch.Tensor:
    """Uncertainty of every duel (i, j): rewards (E, M, N) -> (M, N, N), as ``duel_uncertainty``."""
    if kind not in UNCERTAINTIES:
        raise ValueError(f"uncertainty must be one of {UNCERTAINTIES}, got {kind!r}")
    diff = rewards[:, :, :, None] - rewards[:, :, None, :]               # (E, M, N, N)
    if kind == "prob_var":
        diff = torch.sigmoid(diff)
    return diff.var(0, unbiased=False)


def _same(candidates: torch.Tensor | None, idx: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """(M, N) mask of candidates identical to candidate ``idx`` (M,) (by id if ids are given)."""
    m = torch.arange(shape[0])
    if candidates is None:
        return torch.arange(shape[1])[None, :] == idx[:, None]
    return candidates == candidates[m, idx][:, None]


def _random_other(same: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """A random candidate per row outside ``same`` (M, N); any candidate where all are the same."""
    weights = (~same).float()
    weights[weights.sum(1) == 0] = 1.0
    return torch.multinomial(weights, 1, generator=generator)[:, 0]


def select_pair(rewards: torch.Tensor, rule: str = "bai_ts", *, uncertainty: str = "logit_var",
                candidates: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Choose a duel (a, b) per context from ensemble rewards (E, M, N); returns indices (M,), (M,).

    ``candidates`` (M, N) are optional response ids: a second response with the same id as the first
    is never chosen (unless all N are the same). Rules and uncertainties: see the module docstring."""
    if rewards.ndim != 3:
        raise ValueError(f"rewards must have shape (E, M, N), got {tuple(rewards.shape)}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    E, M, N = rewards.shape
    rewards = rewards.detach()
    if rule == "uniform":
        a = torch.randint(N, (M,), generator=generator)
        return a, _random_other(_same(candidates, a, (M, N)), generator)
    if rule == "greedy":
        mean = rewards.mean(0)
        a = mean.argmax(1)
        return a, mean.masked_fill(_same(candidates, a, (M, N)), -math.inf).argmax(1)
    if rule == "uncertainty":
        pairs = pair_uncertainty(rewards, uncertainty)                          # (M, N, N)
        ids = torch.arange(N).expand(M, N) if candidates is None else candidates
        same = ids[:, :, None] == ids[:, None, :]                               # (M, N, N)
        flat = pairs.masked_fill(same, -math.inf).flatten(1).argmax(1)
        a, b = flat // N, flat % N
        return a, torch.where(same.flatten(1).all(1), a, b)
    k = int(torch.randint(E, (1,), generator=generator))
    a = rewards[k].argmax(1)
    same = _same(candidates, a, (M, N))
    if rule == "ts_random":
        return a, _random_other(same, generator)
    if rule == "ee_ts":
        b = torch.full((M,), -1, dtype=torch.long)
        m = torch.arange(M)
        for j in torch.randperm(E, generator=generator).tolist():
            c = rewards[j].argmax(1)
            ok = (b < 0) & ~same[m, c]
            b[ok] = c[ok]
            if (b >= 0).all():
                break
        return a, torch.where(b < 0, _random_other(same, generator), b)
    score = duel_uncertainty(rewards, a, uncertainty).masked_fill(same, -math.inf)
    b = score.argmax(1)
    return a, torch.where(same.all(1), a, b)


def max_margin_pair(rewards: torch.Tensor, generator: torch.Generator | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """The synthetic pair of mixed preference learning: under one random head k, the candidates
    with the largest reward margin, ordered so that the head prefers the first. rewards (E, M, N)
    -> (chosen (M,), rejected (M,)). The label comes from the reward model, never from the oracle."""
    E, M, N = rewards.shape
    k = int(torch.randint(E, (1,), generator=generator))
    r = rewards[k].detach()
    return r.argmax(1), r.argmin(1)
