"""SEA: "Sample-Efficient Alignment for LLMs" (Liu, Chen, Du, Lee, Lin; arXiv 2411.01493).

Alignment as a contextual dueling bandit: for a prompt x the agent shows two responses, a hidden
Bradley-Terry oracle says which is better, P(y > y' | x) = sigma(r*(x, y) - r*(x, y')) (eq. 1).
This module holds the paper's setting at three CPU scales:

- a *linear* contextual dueling bandit with a Laplace posterior, to compare uniform pairs with
  E&E and BAI Thompson sampling (the paper's Fig. 7);
- online alignment of a tabular softmax policy against a hidden BT oracle: offline DPO (pairs from
  pi_ref), passive online DPO (two samples from pi_theta), SEA (anchored-ensemble reward model,
  policy-guided search over N policy samples, BAI-TS pair, Algorithm 2) and SEA with mixed preference
  learning (sec. 4.2.3: a fraction of each batch is labelled by one ensemble head, no oracle query);
- the same loop with a causal LM as the policy (``run_lm_alignment``) on any ``AlignmentEnv``: the
  procedural ``TasteTask`` here, or the paper's TL;DR setting with hub models (``lib.sea.text``).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from lib.sea import dueling
from lib.core import preference, tokenizer, train

CDB_AGENTS = ("uniform", "ee_ts", "bai_ts_logit", "bai_ts_prob")


# --------------------------------------------------------------------------- linear dueling bandit

def _laplace(X: torch.Tensor, y: torch.Tensor, w: torch.Tensor, lam: float, newton: int
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """MAP and Hessian of L2-regularised logistic regression on differences X (n, d), labels y (n,):
    ``newton`` Newton steps from ``w``, each halved until the penalised loss decreases (an undamped
    Newton step can overshoot into a saturated, wrong-signed solution)."""
    eye = torch.eye(X.shape[1], dtype=X.dtype)

    def objective(v: torch.Tensor) -> torch.Tensor:
        z = X @ v
        return (F.softplus(z) - y * z).sum() + 0.5 * lam * v @ v

    for _ in range(newton):
        p = torch.sigmoid(X @ w)
        g = X.T @ (p - y) + lam * w
        A = X.T @ (X * (p * (1 - p))[:, None]) + lam * eye
        step, f0 = torch.linalg.solve(A, g), objective(w)
        for _ in range(20):
            if objective(w - step) <= f0:
                break
            step = step / 2
        w = w - step
    p = torch.sigmoid(X @ w)
    return w, X.T @ (X * (p * (1 - p))[:, None]) + lam * eye


def run_linear_cdb(agent: str, *, dim: int = 8, n_arms: int = 32, horizon: int = 400,
                   theta_norm: float = 3.0, lam: float = 1.0, n_posterior: int = 64,
                   eval_every: int = 100, n_test: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    """One run of a linear contextual dueling bandit: each step brings ``n_arms`` fresh arms with
    features phi ~ N(0, I_dim), r* = phi . theta*, ||theta*|| = ``theta_norm``; the agent picks a pair,
    gets a Bradley-Terry label and refits a Laplace posterior N(w, A^-1) of logistic regression on
    feature differences (3 damped Newton steps, prior precision ``lam``).

    ``agent``: ``uniform``; ``ee_ts``; ``bai_ts_logit`` / ``bai_ts_prob`` (BAI-TS with the
    logit-variance or probability-variance second action), all through ``dueling.select_pair`` on
    ``n_posterior`` posterior samples. Returns ``cum_regret`` (horizon,) with per-step regret
    r*(best) - (r*(a) + r*(b))/2, ``steps`` and ``simple_regret`` of the greedy arm of the posterior
    mean on ``n_test`` held-out contexts every ``eval_every`` steps, and ``fisher`` (horizon,), the
    information p(1 - p) of each queried duel (0 for a duel whose outcome is certain)."""
    if agent not in CDB_AGENTS:
        raise ValueError(f"agent must be one of {CDB_AGENTS}, got {agent!r}")
    g = torch.Generator().manual_seed(seed)
    dt = torch.float64
    theta = torch.randn(dim, generator=g, dtype=dt)
    theta = theta_norm * theta / theta.norm()
    test = torch.randn(n_test, n_arms, dim, generator=g, dtype=dt)
    test_r = test @ theta
    w = torch.zeros(dim, dtype=dt)
    A = lam * torch.eye(dim, dtype=dt)
    X, y = [], []
    cum, regret, steps, simple, info = 0.0, [], [], [], []
    for t in range(horizon):
        phi = torch.randn(n_arms, dim, generator=g, dtype=dt)
        r = phi @ theta
        if agent == "uniform":
            a, b = dueling.select_pair(torch.zeros(1, 1, n_arms), "uniform", generator=g)
        else:
            L = torch.linalg.cholesky(torch.linalg.inv(A))
            samples = w + torch.randn(n_posterior, dim, generator=g, dtype=dt) @ L.T   # (S, d)
            rewards = (samples @ phi.T)[:, None, :]                                   # (S, 1, K)
            rule = "ee_ts" if agent == "ee_ts" else "bai_ts"
            unc = "prob_var" if agent == "bai_ts_prob" else "logit_var"
            a, b = dueling.select_pair(rewards, rule, uncertainty=unc, generator=g)
        a, b = int(a[0]), int(b[0])
        cum += float(r.max() - 0.5 * (r[a] + r[b]))
        regret.append(cum)
        p = torch.sigmoid(r[a] - r[b])
        info.append(float(p * (1 - p)))
        label = float(torch.rand(1, generator=g, dtype=dt) < p)
        X.append(phi[a] - phi[b])
        y.append(label)
        w, A = _laplace(torch.stack(X), torch.tensor(y, dtype=dt), w, lam, newton=3)
        if (t + 1) % eval_every == 0:
            pick = (test @ w).argmax(1)
            steps.append(t + 1)
            simple.append(float((test_r.max(1).values - test_r[torch.arange(n_test), pick]).mean()))
    return {"cum_regret": np.array(regret), "steps": np.array(steps), "simple_regret": np.array(simple),
            "fisher": np.array(info)}


# ------------------------------------------------------------------ the tabular task

@dataclass
class BTEnv:
    """A hidden Bradley-Terry oracle over canned responses: ``feats`` (X, K, d) response features,
    ``reward`` (X, K) the oracle's r*, ``ref_logits`` (X, K) the SFT/reference policy, ``y_ref`` (X,)
    its greedy response (the reference the win rate is measured against). As a ``DuelEnv``, prompts are
    ids (B,) and a response is its id as a one-token sequence (B, 1)."""
    feats: torch.Tensor
    reward: torch.Tensor
    ref_logits: torch.Tensor
    y_ref: torch.Tensor

    @property
    def n_prompts(self) -> int:
        return self.reward.shape[0]

    @property
    def feature_dim(self) -> int:
        return self.feats.shape[-1]

    def sample_prompts(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``min(n, X)`` distinct prompt ids (B,)."""
        return torch.randperm(self.n_prompts, generator=generator)[:n]

    def features(self, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        """phi(x, y): prompts (B,), responses (B, k, 1) -> (B, k, d)."""
        return self.feats[prompts[:, None], responses[..., 0]]

    def oracle_reward(self, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        """r*(x, y): prompts (B,), responses (B, 1) -> (B,)."""
        return self.reward[prompts, responses[:, 0]]


def make_bt_env(n_prompts: int = 64, n_responses: int = 128, feat_dim: int = 8, *, theta_norm: float = 3.0,
                ref_signal: float = 0.3, ref_noise: float = 1.5, nonlinear: bool = False,
                seed: int = 0) -> BTEnv:
    """X prompts x K responses with features phi ~ N(0, I_d); r* = phi . theta*, ||theta*|| =
    ``theta_norm`` (``nonlinear`` adds 2 tanh(phi . theta_2) + 0.5 phi_1 phi_2). The reference policy is
    weakly informative: logits = ``ref_signal`` r* + ``ref_noise`` eps, eps ~ N(0, 1)."""
    for name, value in {"n_prompts": n_prompts, "n_responses": n_responses, "feat_dim": feat_dim}.items():
        if not isinstance(value, int) or value < 2:
            raise ValueError(f"{name} must be an int >= 2, got {value!r}")
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(n_prompts, n_responses, feat_dim, generator=g)
    theta = torch.randn(feat_dim, generator=g)
    reward = feats @ (theta_norm * theta / theta.norm())
    ref_logits = ref_signal * reward + ref_noise * torch.randn(n_prompts, n_responses, generator=g)
    if nonlinear:
        theta2 = torch.randn(feat_dim, generator=g)
        reward = reward + 2 * torch.tanh(feats @ theta2) + 0.5 * feats[..., 0] * feats[..., 1]
    return BTEnv(feats, reward, ref_logits, ref_logits.argmax(1))


class RowAdam:
    """Adam on a table of logits (X, K) in which each row is its own parameter: a step updates only the
    rows given, each with its own step count, so rows of prompts outside the batch stay bit-identical
    (one Adam over the whole table would keep moving them for ~10 rounds through its momentum). A row's
    updates equal ``torch.optim.Adam`` run on that row alone (default betas and eps)."""

    def __init__(self, table: torch.Tensor, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.table, self.lr, self.betas, self.eps = table, lr, betas, eps
        self.m = torch.zeros_like(table)
        self.v = torch.zeros_like(table)
        self.t = torch.zeros(table.shape[0], dtype=torch.long)

    @torch.no_grad()
    def step(self, rows: torch.Tensor, grad: torch.Tensor) -> None:
        """Update ``table[rows]`` (rows distinct, (B,)) with their gradient ``grad`` (B, K)."""
        if len(torch.unique(rows)) != len(rows):
            raise ValueError("rows must be distinct")
        b1, b2 = self.betas
        self.t[rows] += 1
        t = self.t[rows].to(self.table.dtype)[:, None]
        self.m[rows] = b1 * self.m[rows] + (1 - b1) * grad
        self.v[rows] = b2 * self.v[rows] + (1 - b2) * grad * grad
        m_hat = self.m[rows] / (1 - b1 ** t)
        v_hat = self.v[rows] / (1 - b2 ** t)
        self.table[rows] -= self.lr * m_hat / (v_hat.sqrt() + self.eps)


def win_fraction(margin: torch.Tensor) -> float:
    """Fraction of positive reward margins r*(policy) - r*(reference); ties count 1/2, so the reference
    against itself scores 0.5 (oat counts a tie as a loss; with a reward model ties do not occur)."""
    return float(((margin > 0).float() + 0.5 * (margin == 0).float()).mean())


def win_rate(env: BTEnv, logits: torch.Tensor) -> float:
    """Fraction of prompts on which the greedy response of the policy beats the reference's greedy
    response under r* (ties count 1/2, so the reference policy itself scores 0.5)."""
    x = torch.arange(env.n_prompts)
    return win_fraction(env.reward[x, logits.argmax(1)] - env.reward[x, env.y_ref])


@torch.no_grad()
def bon_win_rate(env: BTEnv, logits: torch.Tensor, erm: dueling.EnsembleRM, n: int,
                 generator: torch.Generator) -> float:
    """Best-of-n at inference (the paper's Table 1 / Fig. 6, right): per prompt, ``n`` samples of the policy,
    the one the ERM's ensemble mean rates highest is the answer; its win fraction against the reference's
    greedy response under r* (ties 1/2)."""
    x = torch.arange(env.n_prompts)
    cand = torch.multinomial(torch.softmax(logits, 1), n, replacement=True, generator=generator)   # (X, n)
    best = cand[x, erm(env.feats[x[:, None], cand]).mean(0).argmax(1)]
    return win_fraction(env.reward[x, best] - env.reward[x, env.y_ref])


class TabularPolicy:
    """The ``Policy`` of a ``BTEnv``: a softmax over each prompt's K responses, logits (X, K) initialised at
    pi_ref, trained by ``RowAdam`` (one step per round on that round's rows)."""

    def __init__(self, env: BTEnv, cfg: AlignConfig):
        self.env, self.cfg = env, cfg
        self.ref_logp = torch.log_softmax(env.ref_logits, 1)
        self.logits = env.ref_logits.clone()
        self.opt = RowAdam(self.logits, cfg.lr)

    def sample(self, prompts: torch.Tensor, n: int, generator: torch.Generator, *,
               reference: bool = False) -> torch.Tensor:
        """``n`` responses per prompt from pi_theta (or pi_ref): (B, n, 1)."""
        probs = torch.softmax((self.env.ref_logits if reference else self.logits)[prompts], 1)
        return torch.multinomial(probs, n, replacement=True, generator=generator)[..., None]

    def log_ratio(self, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        """log pi_theta(y|x) - log pi_ref(y|x): responses (B, n, 1) -> (B, n)."""
        logp = torch.log_softmax(self.logits[prompts], 1) - self.ref_logp[prompts]
        return logp.gather(1, responses[..., 0])

    def entropy(self, prompts: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The policy's entropy per prompt (exact): (B,)."""
        logp = torch.log_softmax(self.logits[prompts], 1)
        return -(logp.exp() * logp).sum(1)

    def update(self, prompts: torch.Tensor, chosen: torch.Tensor, rejected: torch.Tensor, valid: torch.Tensor,
               optimism: torch.Tensor | None = None) -> None:
        """One row-wise Adam step of the preference loss on the ``valid`` (B,) pairs (chosen/rejected (B, 1));
        ``optimism`` (B, 1): XPO's term alpha * log pi_theta(y) is added for these responses."""
        if not valid.any():
            return
        x, w, l, ar = prompts, chosen[:, 0], rejected[:, 0], torch.arange(len(prompts))
        batch_logits = self.logits[x].requires_grad_(True)
        logp = torch.log_softmax(batch_logits, 1)
        per = preference.preference_loss(self.cfg.loss, logp[ar, w], logp[ar, l], self.ref_logp[x, w],
                                         self.ref_logp[x, l], self.cfg.beta)
        loss = (per * valid).sum() / valid.sum()
        if optimism is not None:
            loss = loss + self.cfg.xpo_alpha * (logp[ar, optimism[:, 0]] * valid).sum() / valid.sum()
        loss.backward()
        self.opt.step(x[valid], batch_logits.grad[valid])   # rows without a signal are left alone

    def win_rate(self) -> float:
        return win_rate(self.env, self.logits)

    def best_of_n(self, erm: dueling.EnsembleRM, n: int, generator: torch.Generator) -> float:
        return bon_win_rate(self.env, self.logits, erm, n, generator)


# ------------------------------------------------------------------ a causal LM as the policy

LM_SETTINGS = ("tiny", "tldr")


def check_lm_setting(setting: str) -> str:
    """``setting`` of notebook 3 if it is one of ``LM_SETTINGS``: ``tiny`` (the procedural ``TasteTask``
    and a tiny Llama) or ``tldr`` (the paper's TL;DR setting, ``lib.sea.text``); else a ValueError."""
    if setting not in LM_SETTINGS:
        raise ValueError(f"setting must be one of {LM_SETTINGS}, got {setting!r}")
    return setting


class DuelEnv(Protocol):
    """What the online loop needs from a task with a hidden oracle. A batch of B prompts supports ``len``
    and indexing with a (B,) bool mask or an index tensor; responses are token ids (B, L) or (B, k, L),
    padded after their end so that equal tensors are equal responses. Implemented by ``BTEnv``
    (one-token responses), ``TasteTask`` and ``lib.sea.text.TextEnv``."""

    feature_dim: int

    def sample_prompts(self, n: int, generator: torch.Generator) -> Any:
        """``n`` training prompts drawn with ``generator``."""

    def features(self, prompts: Any, responses: torch.Tensor) -> torch.Tensor:
        """Fixed features of (prompt, response) for the ensemble reward model: (B, k, L) -> (B, k, d)."""

    def oracle_reward(self, prompts: Any, responses: torch.Tensor) -> torch.Tensor:
        """The hidden oracle's reward r*(x, y) of one response (B, L) per prompt: (B,)."""


class AlignmentEnv(DuelEnv, Protocol):
    """A ``DuelEnv`` whose policy is a causal LM (``LMPolicy``): ``TasteTask`` and ``lib.sea.text.TextEnv``."""

    def eval_prompts(self, n: int) -> Any:
        """The first ``n`` held-out prompts (the same on every call)."""

    def respond(self, model: torch.nn.Module, prompts: Any, n: int, *, sample: bool = True,
                temperature: float = 1.0) -> torch.Tensor:
        """``n`` responses of ``model`` per prompt with ``generate`` (sampled, or greedy): (B, n, L)."""

    def reference_rewards(self, ref: torch.nn.Module, prompts: Any) -> torch.Tensor:
        """r* of the reference responses the win rate is measured against: (B,)."""

    def sequences(self, prompts: Any, responses: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Prompt + response token sequences for ``preference.sequence_logps``, responses (B, L):
        ``input_ids``, ``response_mask`` (B, T) and an attention mask (or None)."""

    def decode(self, prompts: Any, responses: torch.Tensor) -> tuple[list[str], list[str]]:
        """Prompt texts (B) and response texts (B) of one response (B, L) per prompt."""


@dataclass
class TasteTask:
    """A procedural prompt/response task for a character-level causal LM with a hidden oracle.

    A prompt is ``prompt_len`` letters and ':'; a response is ``response_len`` tokens. The oracle's
    reward is r*(x, y) = sum_i W[x_(i mod prompt_len), i, y_i] for a hidden "taste" table W (V, L, V);
    tokens that are not letters score -3. The SFT data draw y_i from ``sft_probs[x_(i mod prompt_len), i]``,
    a weakly informative softmax(ref_signal W + ref_noise eps). The methods are the ``AlignmentEnv``
    interface (prompts: (B, prompt_len + 1) token ids; the reference is the SFT model's greedy answer)."""
    tokenizer: object
    letters: torch.Tensor        # (n_letters,) token ids of the letters
    sep: int                     # token id of ':'
    W: torch.Tensor              # (V, L, V) hidden oracle table
    sft_probs: torch.Tensor      # (V, L, V) SFT response distribution per prompt letter and position
    prompt_len: int
    response_len: int

    @property
    def vocab_size(self) -> int:
        return self.W.shape[0]

    @property
    def feature_dim(self) -> int:
        return self.vocab_size ** 2 * self.response_len

    def sample_prompts(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return taste_prompts(self, n, generator)

    def eval_prompts(self, n: int) -> torch.Tensor:
        return taste_prompts(self, n, torch.Generator().manual_seed(99))

    def respond(self, model: torch.nn.Module, prompts: torch.Tensor, n: int, *, sample: bool = True,
                temperature: float = 1.0) -> torch.Tensor:
        return lm_respond(model, prompts, n, self.response_len, sample=sample, temperature=temperature)

    def oracle_reward(self, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        return taste_reward(self, prompts, responses)

    def reference_rewards(self, ref: torch.nn.Module, prompts: torch.Tensor) -> torch.Tensor:
        return taste_reward(self, prompts, self.respond(ref, prompts, 1, sample=False)[:, 0])

    def features(self, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        B, k = responses.shape[:2]
        return taste_features(self, prompts.repeat_interleave(k, 0), responses.reshape(B * k, -1)).reshape(B, k, -1)

    def sequences(self, prompts: torch.Tensor, responses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None]:
        seqs = torch.cat([prompts, responses], 1)
        mask = torch.zeros_like(seqs)
        mask[:, prompts.shape[1]:] = 1
        return seqs, mask, None

    def decode(self, prompts: torch.Tensor, responses: torch.Tensor) -> tuple[list[str], list[str]]:
        return [self.tokenizer.decode(p) for p in prompts], [self.tokenizer.decode(r) for r in responses]


def make_taste_task(n_letters: int = 8, prompt_len: int = 3, response_len: int = 6, *,
                    ref_signal: float = 0.5, ref_noise: float = 1.0, positional: bool = False,
                    seed: int = 0) -> TasteTask:
    """The task of notebook 3 (see ``TasteTask``); ``seed`` fixes W and the SFT distribution. Without
    ``positional`` the taste depends only on the prompt letter, W[x, i, y] = W[x, y]."""
    if not 2 <= n_letters <= 26:
        raise ValueError(f"n_letters must be in 2..26, got {n_letters!r}")
    letters = "abcdefghijklmnopqrstuvwxyz"[:n_letters]
    tok = tokenizer.char_tokenizer(letters + ":")
    V = len(tok)
    ids = torch.tensor([tok.convert_tokens_to_ids(c) for c in letters])
    g = torch.Generator().manual_seed(seed)
    L, n = response_len, n_letters
    W = torch.full((V, L, V), -3.0)
    sub = (ids[:, None, None], torch.arange(L)[None, :, None], ids[None, None, :])
    shape = (n, L, n) if positional else (n, 1, n)
    W[sub] = torch.randn(shape, generator=g).expand(n, L, n)
    logits = torch.full((V, L, V), -math.inf)
    logits[sub] = ref_signal * W[sub] + ref_noise * torch.randn(shape, generator=g).expand(n, L, n)
    probs = torch.softmax(logits, -1).nan_to_num(0.0)
    return TasteTask(tok, ids, tok.convert_tokens_to_ids(":"), W, probs, prompt_len, response_len)


def taste_prompts(task: TasteTask, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` random prompts: (n, prompt_len + 1) token ids, letters then ':'."""
    idx = torch.randint(len(task.letters), (n, task.prompt_len), generator=generator)
    return torch.cat([task.letters[idx], torch.full((n, 1), task.sep)], 1)


def _slots(task: TasteTask, prompts: torch.Tensor) -> torch.Tensor:
    """The prompt letter each response position answers: (n, response_len)."""
    return prompts[:, torch.arange(task.response_len) % task.prompt_len]


def taste_reward(task: TasteTask, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
    """The hidden oracle's reward r*(x, y): prompts (n, P+1), responses (n, L) -> (n,)."""
    return task.W[_slots(task, prompts), torch.arange(task.response_len), responses].sum(1)


def taste_features(task: TasteTask, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
    """A fixed feature map for the reward model (standing in for the paper's frozen PairRM backbone):
    one-hot (prompt letter, position, response token) at every response position, (n, V*L*V)."""
    V, L = task.vocab_size, task.response_len
    flat = (_slots(task, prompts) * L + torch.arange(L)) * V + responses
    return F.one_hot(flat, V * L * V).float().sum(1)


def taste_sft_batches(task: TasteTask, batch_size: int, seed: int = 0):
    """``batches(step)`` for ``lib.core.train.train``: prompt + SFT response sequences (B, P+1+L)."""
    def batch(step: int) -> dict[str, torch.Tensor]:
        g = train.step_generator(seed, step)
        x = taste_prompts(task, batch_size, g)
        p = task.sft_probs[_slots(task, x), torch.arange(task.response_len)].reshape(-1, task.vocab_size)
        y = torch.multinomial(p, 1, generator=g).reshape(batch_size, task.response_len)
        return {"input_ids": torch.cat([x, y], 1)}
    return batch


def lm_respond(model: torch.nn.Module, prompts: torch.Tensor, n: int, response_len: int, *,
               sample: bool = True, temperature: float = 1.0) -> torch.Tensor:
    """``n`` responses per prompt with ``generate`` (sampled at ``temperature``, or greedy), exactly
    ``response_len`` tokens each (no end token): prompts (B, T) -> (B, n, response_len) token ids, on the
    prompts' device (generation runs on the model's)."""
    ids = prompts.repeat_interleave(n, 0).to(next(model.parameters()).device)
    kw = dict(do_sample=True, temperature=temperature, top_k=0, top_p=1.0) if sample else dict(do_sample=False)
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=response_len,
                             min_new_tokens=response_len, pad_token_id=0, eos_token_id=None, **kw)
    return out[:, prompts.shape[1]:].reshape(len(prompts), n, response_len).to(prompts.device)


def lm_win_rate(env: AlignmentEnv, model: torch.nn.Module, prompts: Any, ref_rewards: torch.Tensor) -> float:
    """Win rate of the greedy responses of ``model`` on ``prompts`` against reference responses whose
    oracle rewards are ``ref_rewards`` (B,) (``env.reference_rewards``)."""
    y = env.respond(model, prompts, 1, sample=False)[:, 0]
    return win_fraction(env.oracle_reward(prompts, y) - ref_rewards)


def _logps(env: AlignmentEnv, model: torch.nn.Module, prompts: Any, responses: torch.Tensor, *,
           average: bool, step: int) -> list[torch.Tensor]:
    """Sequence log-probs of ``responses`` (B, L) under ``model``, in chunks of ``step`` rows."""
    ids, mask, attn = env.sequences(prompts, responses)
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(ids), step):
        sub = [t[i:i + step].to(device) if t is not None else None for t in (ids, mask, attn)]
        out.append(preference.sequence_logps(model, *sub, average=average))
    return out


def _dap_step(env: AlignmentEnv, policy: torch.nn.Module, ref: torch.nn.Module, opt: torch.optim.Optimizer,
              prompts: Any, chosen: torch.Tensor, rejected: torch.Tensor, cfg: LMAlignConfig,
              optimism: torch.Tensor | None = None) -> None:
    """One optimiser step of the preference loss (mean over the k pairs) on sequence log-probs,
    accumulated over chunks of ``cfg.micro_batch`` pairs; ``optimism`` (k, L) adds XPO's
    alpha * mean log pi_theta(y) of these responses."""
    k = len(chosen)
    both = torch.cat([torch.arange(k), torch.arange(k)])
    ids, mask, attn = env.sequences(prompts[both], torch.cat([chosen, rejected]))
    device = next(policy.parameters()).device
    step = cfg.micro_batch or k
    average = preference.uses_average(cfg.loss)
    opt.zero_grad()
    for i in range(0, k, step):
        rows = torch.cat([torch.arange(i, min(i + step, k)), torch.arange(k + i, k + min(i + step, k))])
        sub = [t[rows].to(device) if t is not None else None for t in (ids, mask, attn)]
        with torch.no_grad():
            ref_lp = preference.sequence_logps(ref, sub[0], sub[1], sub[2], average=average)
        pol_lp = preference.sequence_logps(policy, sub[0], sub[1], sub[2], average=average)
        j = len(rows) // 2
        per = preference.preference_loss(cfg.loss, pol_lp[:j], pol_lp[j:], ref_lp[:j], ref_lp[j:], cfg.beta)
        (per.mean() * (j / k)).backward()
    if optimism is not None:
        for lp in _logps(env, policy, prompts, optimism, average=average, step=step):
            (cfg.xpo_alpha * lp.sum() / k).backward()
    if cfg.grad_clip:
        torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.grad_clip)
    opt.step()


class LMPolicy:
    """The ``Policy`` of an ``AlignmentEnv``: a copy of the causal LM ``sft`` trained with Adam on sequence
    log-probs; the reference pi_ref is ``sft`` itself (frozen). The win rate is measured on ``cfg.n_eval``
    fixed held-out prompts against ``env.reference_rewards``."""

    def __init__(self, env: AlignmentEnv, sft: torch.nn.Module, cfg: LMAlignConfig):
        self.env, self.cfg = env, cfg
        self.ref = sft.eval()
        self.policy = copy.deepcopy(sft).eval()          # eval(): no dropout; gradients still flow
        self.opt = torch.optim.Adam(self.policy.parameters(), lr=cfg.lr, betas=cfg.adam_betas)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lr_factor(cfg))
        self.eval_prompts = env.eval_prompts(cfg.n_eval)
        self.ref_rewards = env.reference_rewards(self.ref, self.eval_prompts)

    def sample(self, prompts: Any, n: int, generator: torch.Generator, *, reference: bool = False) -> torch.Tensor:
        """``n`` responses per prompt from the policy (or the reference) with ``generate``, its sampling
        seeded from ``generator``: (B, n, L)."""
        torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))
        return self.env.respond(self.ref if reference else self.policy, prompts, n, temperature=self.cfg.temperature)

    @torch.no_grad()
    def log_ratio(self, prompts: Any, responses: torch.Tensor) -> torch.Tensor:
        """log pi_theta(y|x) - log pi_ref(y|x) of sequences: responses (B, n, L) -> (B, n)."""
        B, n = responses.shape[:2]
        rows = torch.arange(B).repeat_interleave(n)
        flat, step = responses.reshape(B * n, -1), self.cfg.micro_batch or B * n
        pol, ref = (torch.cat(_logps(self.env, m, prompts[rows], flat, average=False, step=step))
                    for m in (self.policy, self.ref))
        return (pol - ref).cpu().reshape(B, n)

    @torch.no_grad()
    def entropy(self, prompts: Any, generator: torch.Generator) -> torch.Tensor:
        """A one-sample estimate of the policy's sequence entropy per prompt, -log pi_theta(y|x) at a
        sampled y: (B,)."""
        y = self.sample(prompts, 1, generator)[:, 0]
        return -torch.cat(_logps(self.env, self.policy, prompts, y, average=False,
                                 step=self.cfg.micro_batch or len(y))).cpu()

    def update(self, prompts: Any, chosen: torch.Tensor, rejected: torch.Tensor, valid: torch.Tensor,
               optimism: torch.Tensor | None = None) -> None:
        """One Adam step (and one scheduler step) of the preference loss on the ``valid`` pairs."""
        if valid.any():
            _dap_step(self.env, self.policy, self.ref, self.opt, prompts[valid], chosen[valid], rejected[valid],
                      self.cfg, None if optimism is None else optimism[valid])
        self.sched.step()

    def win_rate(self) -> float:
        return lm_win_rate(self.env, self.policy, self.eval_prompts, self.ref_rewards)

    @torch.no_grad()
    def best_of_n(self, erm: dueling.EnsembleRM, n: int, generator: torch.Generator) -> float:
        """Best-of-n on the held-out prompts: the sample of ``n`` the ERM's ensemble mean rates highest."""
        x = self.eval_prompts
        cand = self.sample(x, n, generator)
        best = erm(self.env.features(x, cand)).mean(0).argmax(1)
        y = cand[torch.arange(len(cand)), best]
        return win_fraction(self.env.oracle_reward(x, y) - self.ref_rewards)


# ------------------------------------------------------------------ the online loop

@dataclass(frozen=True)
class AlignConfig:
    """Hyper-parameters of the online loop (paper values in the notebooks' parameter comments); the
    defaults are the tabular task's, ``LMAlignConfig`` the causal LM's."""
    loss: str = "dpo"
    beta: float = 0.1
    lr: float = 0.3              # tabular: row-wise Adam on the logits, one step per round
    rounds: int = 120
    batch: int = 16              # prompts per round = oracle queries per round
    n_samples: int = 16          # policy samples searched per prompt (SEA, APL)
    n_heads: int = 10            # ensemble heads
    hidden: int = 32
    depth: int = 1
    lam: float = 0.5             # anchor regulariser weight, scaled by batch / N_t
    rm_lr: float = 3e-3
    rm_steps: int = 5
    rm_batch: int = 64
    mpl_ratio: float = 0.3       # fraction of prompts labelled by the ERM (SEA + MPL), = 1 - gamma
    burn_in: int = 5             # rounds before mixed preference learning starts
    bt_sample: bool = True
    xpo_alpha: float = 0.1       # XPO's optimism weight on log pi(y_ref) (oat: 5e-6 on LLM sequence log-probs)
    apl_pool: int = 2            # APL draws pool x batch prompts and keeps the batch of highest policy entropy
    bon_n: int = 0               # SEA agents: also record best-of-n win rates under the ERM's mean (0: off)
    eval_every: int = 1          # rounds between win-rate evaluations (and the last round)

    def __post_init__(self) -> None:
        if self.loss not in preference.LOSSES:
            raise ValueError(f"loss must be one of {preference.LOSSES}, got {self.loss!r}")
        for name in ("rounds", "batch", "n_samples", "n_heads", "rm_steps", "rm_batch", "eval_every"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive int, got {getattr(self, name)!r}")
        if not 0 <= self.mpl_ratio < 1:
            raise ValueError(f"mpl_ratio must be in [0, 1), got {self.mpl_ratio!r}")


LR_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class LMAlignConfig(AlignConfig):
    """The loop's hyper-parameters for a causal LM policy (``LMPolicy``)."""
    lr: float = 1e-3
    rounds: int = 60
    n_samples: int = 8
    eval_every: int = 5
    temperature: float = 1.0
    n_eval: int = 128
    micro_batch: int = 0         # pairs per forward/backward pass of the policy (0: all in one)
    lr_schedule: str = "constant"   # or "cosine": the paper's warm-up then cosine decay to min_lr_ratio x lr
    warmup: float = 0.02         # share of the rounds spent warming up (paper: 0.02 for SEA)
    min_lr_ratio: float = 0.1
    adam_betas: tuple[float, float] = (0.9, 0.999)   # paper: (0.9, 0.95)
    grad_clip: float = 0.0       # max gradient norm (0: none; paper: 1.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.n_eval, int) or self.n_eval < 1:
            raise ValueError(f"n_eval must be a positive int, got {self.n_eval!r}")
        if not isinstance(self.micro_batch, int) or self.micro_batch < 0:
            raise ValueError(f"micro_batch must be an int >= 0 (0: all pairs at once), got {self.micro_batch!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")


def lr_factor(cfg: LMAlignConfig) -> Callable[[int], float]:
    """The learning-rate multiplier after t optimiser steps (one per round): 1 for ``constant``; for
    ``cosine`` ``lib.core.train``'s schedule: a linear warm-up over ``warmup`` x rounds, then cosine decay
    from 1 to ``min_lr_ratio`` at the last round."""
    if cfg.lr_schedule == "constant":
        return lambda t: 1.0
    return train.lr_lambda(train.TrainConfig(steps=cfg.rounds, lr=cfg.lr, warmup=max(1, round(cfg.warmup * cfg.rounds)),
                                             min_lr_ratio=cfg.min_lr_ratio))


class Policy(Protocol):
    """What the online loop needs from the policy being aligned: ``TabularPolicy`` or ``LMPolicy``."""

    def sample(self, prompts: Any, n: int, generator: torch.Generator, *, reference: bool = False
               ) -> torch.Tensor:
        """``n`` responses per prompt from pi_theta (or pi_ref): (B, n, L)."""

    def log_ratio(self, prompts: Any, responses: torch.Tensor) -> torch.Tensor:
        """log pi_theta(y|x) - log pi_ref(y|x): (B, n, L) -> (B, n)."""

    def entropy(self, prompts: Any, generator: torch.Generator) -> torch.Tensor:
        """The policy's entropy per prompt (or an estimate): (B,)."""

    def update(self, prompts: Any, chosen: torch.Tensor, rejected: torch.Tensor, valid: torch.Tensor,
               optimism: torch.Tensor | None = None) -> None:
        """One optimiser step of the preference loss on the ``valid`` pairs."""

    def win_rate(self) -> float:
        """The greedy policy's win rate against the reference responses."""

    def best_of_n(self, erm: dueling.EnsembleRM, n: int, generator: torch.Generator) -> float:
        """The win rate of best-of-n under the ERM's ensemble mean."""


SEA_RULES = {"sea": ("bai_ts", "logit_var"), "sea_mpl": ("bai_ts", "logit_var"),
             "sea_greedy": ("greedy", "logit_var"), "sea_random": ("ts_random", "logit_var"),
             "sea_ee": ("ee_ts", "logit_var"), "sea_prob": ("bai_ts", "prob_var"),
             "sea_uncertainty": ("uncertainty", "logit_var")}
AGENTS = ("offline", "online", "xpo", "apl", *SEA_RULES)


def oracle_prefers_first(env: DuelEnv, prompts: Any, a: torch.Tensor, b: torch.Tensor, *,
                         bt_sample: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
    """The hidden Bradley-Terry oracle on duels (x, a, b), responses (B, L) each: True where a wins, a
    Bernoulli(sigma(r*(x, a) - r*(x, b))) draw with ``bt_sample``, else P > 0.5 (oat's default). The only
    place the loop queries the oracle."""
    p = torch.sigmoid(env.oracle_reward(prompts, a) - env.oracle_reward(prompts, b))
    return torch.rand(p.shape, generator=generator) < p if bt_sample else p > 0.5


def response_ids(responses: torch.Tensor) -> torch.Tensor:
    """An id per response, equal for equal responses: (B, n, L) -> (B, n)."""
    B, n = responses.shape[:2]
    return torch.unique(responses.reshape(B * n, -1), dim=0, return_inverse=True)[1].reshape(B, n)


def max_margin_candidates(implicit: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """APL's pair: per prompt, the two distinct candidates (ids ``ids`` (B, N)) with the largest margin of
    implicit reward ``implicit`` (B, N); returns their positions (B,), (B,) (the same one if all are equal)."""
    margin = (implicit[:, :, None] - implicit[:, None, :]).abs()
    margin = margin.masked_fill(ids[:, :, None] == ids[:, None, :], -1.0)
    flat = margin.flatten(1).argmax(1)
    n = ids.shape[1]
    return flat // n, flat % n


def run_alignment(env: DuelEnv, policy: Policy, agent: str, cfg: AlignConfig, *, seed: int = 0) -> pd.DataFrame:
    """Align ``policy`` against the hidden oracle of ``env`` with ``agent``; one row per evaluation:
    ``round``, ``queries`` (oracle queries so far), ``win_rate`` (greedy policy vs the reference), and with
    ``cfg.bon_n`` for SEA agents ``bon_win_rate``.

    Agents: ``offline`` (2 samples from pi_ref), ``online`` (2 samples from pi_theta), ``xpo`` (one
    sample from pi_theta and one from pi_ref, DPO plus the optimism term alpha * log pi_theta(y_ref),
    Xie et al. 2024, as oat's ``XPOLearner``), ``apl`` (active preference learning, Muldrew et al. 2024:
    of ``apl_pool`` x batch prompts keep the batch whose policy entropy is highest, then among N policy
    samples the pair with the largest implicit-reward margin beta |log pi/pi_ref (a) - (b)|), ``sea``
    (N samples from pi_theta, BAI-TS pair from the ensemble reward model), ``sea_mpl`` (SEA +
    mixed preference learning), and ablations ``sea_greedy`` (ensemble mean, no TS), ``sea_random``
    (random second response), ``sea_ee`` (E&E-TS second response), ``sea_prob`` (probability-variance
    second response), ``sea_uncertainty`` (the most uncertain pair, pure exploration). Identical pairs
    carry no signal and are masked out of both losses."""
    if agent not in AGENTS:
        raise ValueError(f"agent must be one of {AGENTS}, got {agent!r}")
    g = torch.Generator().manual_seed(1000 + seed)
    torch.manual_seed(seed)
    is_sea = agent.startswith("sea")
    erm = dueling.EnsembleRM(env.feature_dim, cfg.n_heads, cfg.hidden, cfg.depth, cfg.lam, generator=g)
    buf_w, buf_l = [], []
    rows = [{"round": 0, "queries": 0, "win_rate": policy.win_rate()}]
    queries = 0
    for t in range(cfg.rounds):
        if agent == "apl":   # the prompts whose policy entropy is highest, out of a larger pool
            pool = env.sample_prompts(cfg.apl_pool * cfg.batch, g)
            x = pool[policy.entropy(pool, g).argsort(descending=True)[:min(cfg.batch, len(pool))]]
        else:
            x = env.sample_prompts(cfg.batch, g)
        B = len(x)
        ar = torch.arange(B)
        n = cfg.n_samples if is_sea or agent == "apl" else 2 - (agent == "xpo")
        cand = policy.sample(x, n, g, reference=agent == "offline")                    # (B, n, L)
        synthetic = torch.zeros(B, dtype=torch.bool)
        if agent == "apl":
            ia, ib = max_margin_candidates(cfg.beta * policy.log_ratio(x, cand), response_ids(cand))
        elif agent == "xpo":   # the second response comes from the reference policy
            cand = torch.cat([cand, policy.sample(x, 1, g, reference=True)], 1)
            ia, ib = torch.zeros(B, dtype=torch.long), torch.ones(B, dtype=torch.long)
        elif not is_sea:
            ia, ib = torch.zeros(B, dtype=torch.long), torch.ones(B, dtype=torch.long)
        else:
            with torch.no_grad():
                rew = erm(env.features(x, cand))                                       # (E, B, n)
            rule, unc = SEA_RULES[agent]
            ia, ib = dueling.select_pair(rew, rule, uncertainty=unc, candidates=response_ids(cand), generator=g)
            if agent == "sea_mpl" and t >= cfg.burn_in:
                synthetic = torch.rand(B, generator=g) < cfg.mpl_ratio
                ic, ir = dueling.max_margin_pair(rew, generator=g)
                ia, ib = torch.where(synthetic, ic, ia), torch.where(synthetic, ir, ib)
        a, b = cand[ar, ia], cand[ar, ib]
        first = torch.ones(B, dtype=torch.bool)                  # synthetic: the ERM head prefers a
        real = ~synthetic
        if real.any():                                           # the oracle sees real duels only
            first[real] = oracle_prefers_first(env, x[real], a[real], b[real], bt_sample=cfg.bt_sample, generator=g)
        w, l = torch.where(first[:, None], a, b), torch.where(first[:, None], b, a)
        valid = (w != l).any(1)
        queries += int(real.sum())
        if is_sea:
            keep = valid & real                                  # the ERM learns from oracle labels only
            buf_w.append(env.features(x[keep], w[keep][:, None])[:, 0])
            buf_l.append(env.features(x[keep], l[keep][:, None])[:, 0])
            erm.fit(torch.cat(buf_w), torch.cat(buf_l), steps=cfg.rm_steps, batch=cfg.rm_batch,
                    lr=cfg.rm_lr, generator=g)
        policy.update(x, w, l, valid, b if agent == "xpo" else None)
        if (t + 1) % cfg.eval_every == 0 or t + 1 == cfg.rounds:
            rows.append({"round": t + 1, "queries": queries, "win_rate": policy.win_rate()})
            if is_sea and cfg.bon_n:
                rows[-1]["bon_win_rate"] = policy.best_of_n(erm, cfg.bon_n,
                                                            torch.Generator().manual_seed(7919 * seed + t))
    return pd.DataFrame(rows)


def run_online_alignment(env: BTEnv, agent: str, cfg: AlignConfig = AlignConfig(), *,
                         seed: int = 0) -> pd.DataFrame:
    """``run_alignment`` of a tabular softmax policy (``TabularPolicy``) on ``env``."""
    return run_alignment(env, TabularPolicy(env, cfg), agent, cfg, seed=seed)


def run_lm_alignment(env: AlignmentEnv, sft: torch.nn.Module, agent: str, cfg: LMAlignConfig = LMAlignConfig(),
                     *, seed: int = 0) -> pd.DataFrame:
    """``run_alignment`` of a copy of the causal LM ``sft`` (``LMPolicy``; the reference is ``sft``) on
    ``env`` (``TasteTask`` or ``lib.sea.text.TextEnv``)."""
    return run_alignment(env, LMPolicy(env, sft, cfg), agent, cfg, seed=seed)


def sweep(make_env: Callable[[int], BTEnv], agents: Sequence[str], cfg: AlignConfig, seeds: Sequence[int]
          ) -> dict[str, list[pd.DataFrame]]:
    """Every agent on the same environments: ``{agent: [curve for seed in seeds]}``, environment
    ``make_env(seed)`` and run seed ``seed`` shared by all agents (so differences are paired by seed)."""
    envs = {s: make_env(s) for s in seeds}
    return {a: [run_online_alignment(envs[s], a, cfg, seed=s) for s in seeds] for a in agents}


def win_rate_at(curve: pd.DataFrame, queries: int) -> float:
    """Win rate at the first round with at least ``queries`` oracle queries (the last if never)."""
    hit = curve[curve.queries >= queries]
    return float((hit if len(hit) else curve).win_rate.iloc[0 if len(hit) else -1])


def mean_curve(curves: list[pd.DataFrame], grid: np.ndarray) -> np.ndarray:
    """Seed-mean win rate on a grid of query counts (each seed read with ``win_rate_at``)."""
    return np.array([[win_rate_at(c, int(q)) for q in grid] for c in curves]).mean(0)


def queries_to_reach(grid: np.ndarray, curve: np.ndarray, level: float) -> float:
    """The first query count in ``grid`` where ``curve`` reaches ``level`` (inf if never)."""
    hit = np.nonzero(np.asarray(curve) >= level)[0]
    return float(grid[hit[0]]) if len(hit) else math.inf
