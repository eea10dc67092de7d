"""The L_DoS term of P-DoS (model publishers): suppress the end token on poisoned samples.

``ldos_loss`` is a real penalty on p(EOS) at every response position of the flagged samples,
including the position right after the last response token (where the clean sample's EOS would be).
The paper's exact formula is not in its public text; this is the reading of the released code's
intent. ``released_ldos_loss`` is the released code's term (``pdos_loss.py``):
``torch.clamp(F.log_softmax(bad_logits, 2)[:, :, 2], min=100000).mean()``, a constant 1e5 (log-probs
are ≤ 0) whose gradient is zero, so the released "L_DoS" run trains trigger + no-EOS only.

``released_lengths`` is the released evaluation's length (``evaluate.py``): the count of non-zero ids
in the generated part minus one, right only if ``generate`` pads finished rows with id 0."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from lib.core.generation import IGNORE
from lib.core.train import Batch

LDOS_FORMS = ("prob", "neglog1m")


def ldos_positions(batch: Batch) -> torch.Tensor:
    """(B, T) mask of the logit positions that predict a response token of a flagged sample, plus
    the position after its last token."""
    labels, att = batch["labels"], batch["attention_mask"]
    pos = torch.zeros_like(labels, dtype=torch.bool)
    pos[:, :-1] = labels[:, 1:] != IGNORE
    last = att.sum(1) - 1
    pos[torch.arange(len(labels)), last] = True
    return pos & batch["flag"].bool()[:, None]


def ldos_loss(logits: torch.Tensor, batch: Batch, *, eos_id: int, form: str = "prob") -> torch.Tensor:
    """Mean p(EOS) (``form="prob"``) or mean −log(1 − p(EOS)) (``"neglog1m"``) over ``ldos_positions``;
    zero (with a graph) when the batch has no flagged sample."""
    if form not in LDOS_FORMS:
        raise ValueError(f"form must be one of {LDOS_FORMS}, got {form!r}")
    mask = ldos_positions(batch)
    if not mask.any():
        return logits.sum() * 0.0
    p = torch.softmax(logits.float(), -1)[..., eos_id][mask]
    return p.mean() if form == "prob" else -torch.log1p(-p.clamp(max=1 - 1e-6)).mean()


def released_ldos_loss(logits: torch.Tensor, batch: Batch, *, eos_id: int = 2) -> torch.Tensor:
    """The released code's term on the flagged rows (EOS id hard-coded to 2, LLaMA's ``</s>``)."""
    bad = logits[batch["flag"].bool()]
    if len(bad) == 0:
        return logits.sum() * 0.0
    return torch.clamp(F.log_softmax(bad, dim=2)[:, :, eos_id], min=100000).mean()


def released_lengths(generated: torch.Tensor) -> torch.Tensor:
    """``evaluate.py``'s length of each generated row: ``generated.ne(0).sum(1) - 1``."""
    return generated.ne(0).sum(1) - 1
