"""Unlearning losses of Yuan et al., *A Closer Look at Machine Unlearning for LLMs* (arXiv 2410.08109),
as the official release computes them (sail-sg/closer-look-LLM-unlearning, ``trainer/losses.py``).

A batch is ``(input_ids, labels, attention_mask)``, each (B, T); ``labels`` repeats ``input_ids`` with
-100 on the question and padding (the loss is on answer tokens only). Quirks kept on purpose:

- NLL is the *sum* over answer tokens for NPO, DPO and AP (``seq_nll``), the token *mean* for GA, GD and
  IDK (``mean_nll``, the Hugging Face ``outputs.loss``).
- NPO and DPO carry a factor 2/β; AP carries 1/β and uses no reference model.
- ME minimises KL(U‖p) = −log V − (1/V)·Σ_k log p_k at every position; with the release's ``mask=false``
  (its ME+GD default) that is *every* position of the padded sequence: question, answer and padding.
- KL (the regulariser) is ``kl_div(log p_θ, log p_ref, log_target=True, reduction="batchmean")`` over all
  flattened positions, i.e. KL(p_ref‖p_θ) averaged per position.

The tensor-level functions (``npo_loss``, ``dpo_loss``, ``ap_loss``, ``me_loss_from_logits``) take
log-probabilities or logits and are what the tests check on hand-made numbers; ``unlearn_loss`` combines
a forget loss and a regulariser by name (``"ME+GD"``, ``"IDK+AP"``, ``"GA"``, ...).
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
FORGET_LOSSES = ("GA", "NPO", "DPO", "IDK", "ME")
REGULARIZERS = ("GD", "KL", "AP")


# ----------------------------------------------------------------------------- tensor-level losses
def npo_loss(nll: torch.Tensor, nll_ref: torch.Tensor, beta: float = 0.1) -> torch.Tensor:
    """NPO (Zhang et al. 2024): (2/β)·E log(1 + (π_θ/π_ref)^β) = −(2/β)·E log σ(β·(NLL_θ − NLL_ref)),
    with sequence-summed NLLs of the forget answers, shape (B,)."""
    return -F.logsigmoid(beta * (nll - nll_ref)).mean() * 2 / beta


def dpo_loss(nll_idk: torch.Tensor, nll_true: torch.Tensor, ref_nll_idk: torch.Tensor,
             ref_nll_true: torch.Tensor, beta: float = 0.1) -> torch.Tensor:
    """DPO with the refusal preferred and the true answer rejected, and the release's 2/β factor:
    −(2/β)·E log σ(β·[(log π_θ(idk) − log π_θ(y)) − (log π_ref(idk) − log π_ref(y))]); summed NLLs (B,)."""
    pi = -nll_idk + nll_true
    ref = -ref_nll_idk + ref_nll_true
    return -F.logsigmoid(beta * (pi - ref)).mean() * 2 / beta


def ap_loss(nll_idk: torch.Tensor, nll_true: torch.Tensor, beta: float = 0.1) -> torch.Tensor:
    """Answer preservation on retain questions, no reference model:
    −(1/β)·E log σ(β·(NLL_θ(x_r, y_idk) − NLL_θ(x_r, y_r))); summed NLLs (B,)."""
    return -F.logsigmoid(beta * (nll_idk - nll_true)).mean() / beta


def me_loss_from_logits(logits: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Maximising entropy: KL(U‖p_θ(·|prefix)) = −log V − (1/V)·Σ_k log p_k, averaged over positions.

    ``logits`` (B, T, V); ``mask`` (B, T) of positions to average over, None for all (the release)."""
    logp = F.log_softmax(logits.float(), -1)
    kl = -math.log(logits.shape[-1]) - logp.mean(-1)
    if mask is None:
        return kl.mean()
    mask = mask.to(kl.dtype)
    return (kl * mask).sum() / mask.sum().clamp_min(1)


def kl_from_logits(logits: torch.Tensor, ref_logits: torch.Tensor) -> torch.Tensor:
    """``F.kl_div(log p_θ, log p_ref, log_target=True, reduction="batchmean")`` on flattened positions:
    KL(p_ref‖p_θ) per position, averaged."""
    V = logits.shape[-1]
    cur = F.log_softmax(logits.float(), -1).reshape(-1, V)
    ref = F.log_softmax(ref_logits.float(), -1).reshape(-1, V)
    return F.kl_div(cur, ref, reduction="batchmean", log_target=True)


# ----------------------------------------------------------------------------- model-level pieces
def _shifted(model: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    ids, labels, att = batch
    logits = model(input_ids=ids, attention_mask=att).logits[:, :-1]
    return logits, labels[:, 1:]


def seq_nll(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    """Summed NLL of the answer tokens of each sequence, shape (B,) (the release's ``get_batch_loss``)."""
    logits, labels = _shifted(model, batch)
    return F.cross_entropy(logits.transpose(1, 2).float(), labels, ignore_index=-100,
                           reduction="none").sum(-1)


def mean_nll(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    """Token-mean NLL of all answer tokens in the batch (Hugging Face ``outputs.loss``)."""
    logits, labels = _shifted(model, batch)
    return F.cross_entropy(logits.transpose(1, 2).float(), labels, ignore_index=-100)


def parse_method(method: str) -> tuple[str, str | None]:
    """``"ME+GD"`` → (``"ME"``, ``"GD"``); ``"GA"`` → (``"GA"``, None). Raises on unknown names."""
    if not isinstance(method, str):
        raise ValueError(f"method must be a string like 'ME+GD', got {method!r}")
    parts = method.split("+")
    if len(parts) > 2 or parts[0] not in FORGET_LOSSES or (len(parts) == 2 and parts[1] not in REGULARIZERS):
        raise ValueError(f"unknown unlearning method {method!r}: use a forget loss from {FORGET_LOSSES}, "
                         f"optionally '+' a regulariser from {REGULARIZERS} (e.g. 'ME+GD', 'IDK+AP')")
    return parts[0], (parts[1] if len(parts) == 2 else None)


def needs_reference(method: str) -> bool:
    """Whether ``method`` needs the frozen reference (the model before unlearning)."""
    f, r = parse_method(method)
    return f in ("NPO", "DPO") or r == "KL"


def forget_loss(name: str, model: torch.nn.Module, ref: torch.nn.Module | None,
                batches: Mapping[str, Batch], beta: float = 0.1, me_positions: str = "all") -> torch.Tensor:
    """One forget loss on ``batches["forget"]`` (and ``"forget_idk"`` for IDK/DPO)."""
    fb = batches["forget"]
    if name == "GA":
        return -mean_nll(model, fb)
    if name == "IDK":
        return mean_nll(model, batches["forget_idk"])
    if name == "NPO":
        with torch.no_grad():
            ref_nll = seq_nll(ref, fb)
        return npo_loss(seq_nll(model, fb), ref_nll, beta)
    if name == "DPO":
        fi = batches["forget_idk"]
        with torch.no_grad():
            r_idk, r_true = seq_nll(ref, fi), seq_nll(ref, fb)
        return dpo_loss(seq_nll(model, fi), seq_nll(model, fb), r_idk, r_true, beta)
    if name == "ME":
        if me_positions not in ("all", "answer"):
            raise ValueError(f"me_positions must be 'all' (the release) or 'answer', got {me_positions!r}")
        logits, labels = _shifted(model, fb)
        return me_loss_from_logits(logits, None if me_positions == "all" else labels != -100)
    raise ValueError(f"unknown forget loss {name!r}; allowed: {FORGET_LOSSES}")


def regularizer(name: str, model: torch.nn.Module, ref: torch.nn.Module | None,
                batches: Mapping[str, Batch], beta: float = 0.1) -> torch.Tensor:
    """One regulariser on ``batches["retain"]`` (and ``"retain_idk"`` for AP)."""
    rb = batches["retain"]
    if name == "GD":
        return mean_nll(model, rb)
    if name == "AP":
        return ap_loss(seq_nll(model, batches["retain_idk"]), seq_nll(model, rb), beta)
    if name == "KL":
        ids, _, att = rb
        with torch.no_grad():
            ref_logits = ref(input_ids=ids, attention_mask=att).logits
        return kl_from_logits(model(input_ids=ids, attention_mask=att).logits, ref_logits)
    raise ValueError(f"unknown regulariser {name!r}; allowed: {REGULARIZERS}")


def unlearn_loss(method: str, model: torch.nn.Module, ref: torch.nn.Module | None,
                 batches: Mapping[str, Batch], forget_coeff: float = 1.0, reg_coeff: float = 1.0,
                 beta: float = 0.1, me_positions: str = "all") -> torch.Tensor:
    """forget_coeff·L_forget + reg_coeff·L_reg for a method named like ``"NPO+GD"`` (the release's
    ``CustomTrainerForgetting.compute_loss``)."""
    f, r = parse_method(method)
    if needs_reference(method) and ref is None:
        raise ValueError(f"method {method!r} needs a reference model")
    loss = forget_coeff * forget_loss(f, model, ref, batches, beta, me_positions)
    if r is not None:
        loss = loss + reg_coeff * regularizer(r, model, ref, batches, beta)
    return loss
