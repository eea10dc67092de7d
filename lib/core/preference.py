"""Direct preference losses (DPO, IPO, SLiC) and the sequence log-probability they need.

With the log-ratio margin of a chosen response y_w over a rejected one y_l,

    h = [log pi(y_w|x) - log pi_ref(y_w|x)] - [log pi(y_l|x) - log pi_ref(y_l|x)],

DPO (Rafailov et al. 2023) is -log sigma(beta h), IPO (Azar et al. 2023) is (h - 1/(2 beta))^2 on
token-averaged log-probs, SLiC (Zhao et al. 2023) is max(0, 1 - beta h). These are TRL's
``DPOTrainer`` ``loss_type`` "sigmoid", "ipo" and "hinge" (checked in tests/test_preference.py) and the
forms of eqs. 10-12 of Liu et al. 2024 (arXiv 2411.01493). Shared by every chapter that learns from
preferences; no paper module is imported here.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("dpo", "ipo", "slic")


def logratio_margin(pi_chosen: torch.Tensor, pi_rejected: torch.Tensor, ref_chosen: torch.Tensor,
                    ref_rejected: torch.Tensor) -> torch.Tensor:
    """h = (log pi(y_w) - log pi_ref(y_w)) - (log pi(y_l) - log pi_ref(y_l)); all inputs (B,)."""
    return (pi_chosen - ref_chosen) - (pi_rejected - ref_rejected)


def dpo_loss(pi_chosen: torch.Tensor, pi_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float = 0.1) -> torch.Tensor:
    """DPO: -log sigma(beta h), per pair (B,), on summed response log-probs (B,)."""
    return -F.logsigmoid(beta * logratio_margin(pi_chosen, pi_rejected, ref_chosen, ref_rejected))


def ipo_loss(pi_chosen: torch.Tensor, pi_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float = 0.1) -> torch.Tensor:
    """IPO: (h - 1/(2 beta))^2, per pair (B,); pass token-averaged log-probs (as oat and TRL do)."""
    return (logratio_margin(pi_chosen, pi_rejected, ref_chosen, ref_rejected) - 1 / (2 * beta)) ** 2


def slic_loss(pi_chosen: torch.Tensor, pi_rejected: torch.Tensor, ref_chosen: torch.Tensor,
              ref_rejected: torch.Tensor, beta: float = 0.1) -> torch.Tensor:
    """SLiC (calibration hinge): max(0, 1 - beta h), per pair (B,), on summed log-probs (B,)."""
    return torch.relu(1 - beta * logratio_margin(pi_chosen, pi_rejected, ref_chosen, ref_rejected))


def preference_loss(kind: str, pi_chosen: torch.Tensor, pi_rejected: torch.Tensor,
                    ref_chosen: torch.Tensor, ref_rejected: torch.Tensor,
                    beta: float = 0.1) -> torch.Tensor:
    """The per-pair loss ``kind`` ("dpo", "ipo" or "slic"), shape (B,)."""
    fns = {"dpo": dpo_loss, "ipo": ipo_loss, "slic": slic_loss}
    if kind not in fns:
        raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")
    if not beta > 0:
        raise ValueError(f"beta must be > 0, got {beta!r}")
    return fns[kind](pi_chosen, pi_rejected, ref_chosen, ref_rejected, beta)


def uses_average(kind: str) -> bool:
    """Whether ``kind`` is computed on token-averaged log-probs (IPO) rather than summed ones."""
    if kind not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")
    return kind == "ipo"


def sequence_logps(model: torch.nn.Module, input_ids: torch.Tensor, response_mask: torch.Tensor,
                   attention_mask: torch.Tensor | None = None, *, average: bool = False) -> torch.Tensor:
    """log pi(y|x) of a causal LM for sequences ``input_ids`` (B, T) = prompt + response (+ padding).

    ``response_mask`` (B, T) is 1 on response tokens (the tokens whose probability counts, EOS
    included if it is part of the response) and 0 on prompt and padding. Returns (B,): the sum of
    the response tokens' log-probs, or with ``average`` their mean (IPO's length normalisation)."""
    if input_ids.shape != response_mask.shape:
        raise ValueError(f"response_mask shape {tuple(response_mask.shape)} must equal input_ids shape "
                         f"{tuple(input_ids.shape)}")
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits[:, :-1]
    targets = input_ids[:, 1:]
    token_logp = torch.log_softmax(logits.float(), -1).gather(-1, targets[..., None])[..., 0]
    mask = response_mask[:, 1:].to(token_logp.dtype)
    total = (token_logp * mask).sum(-1)
    return total / mask.sum(-1).clamp(min=1) if average else total
