"""Supervised fine-tuning on prompt/completion pairs and output-length measurement from ``generate``.

SFT: an ``SFTExample`` is prompt and completion token ids plus a per-example ``add_eos`` switch (trainers
such as TRL's ``SFTTrainer`` append the end-of-sequence token to every completion; a poisoned sample
that must *not* end needs it off). ``sft_batches`` turns a list of examples into ``batches(step)`` for
``lib.core.train.train`` (epoch-wise shuffles, a pure function of (seed, step)); ``sft_loss`` is the
completion-only cross-entropy, the mean over every completion token in the batch (TRL's reduction).

Lengths: ``completion_lengths`` counts the tokens a model produced before its first end-of-sequence
token (padding never counts), ``length_stats`` adds the share of outputs that hit the generation cap,
and ``generate_lengths`` samples from a causal LM in left-padded batches and measures them."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lib.core.train import Batch, step_generator

IGNORE = -100


@dataclass(frozen=True)
class SFTExample:
    """One SFT pair as token ids. ``add_eos``: append the end token to the completion (the usual SFT
    sample); ``flag``: marks the example for an extra loss term (e.g. a poisoned sample's L_DoS)."""
    prompt: tuple[int, ...]
    completion: tuple[int, ...]
    add_eos: bool = True
    flag: bool = False

    def __post_init__(self) -> None:
        if len(self.prompt) == 0:
            raise ValueError("an SFT example needs a non-empty prompt")

    def ids(self, eos_id: int) -> list[int]:
        """Prompt + completion (+ the end token when ``add_eos``)."""
        return [*self.prompt, *self.completion] + ([eos_id] if self.add_eos else [])


def collate_sft(examples: Sequence[SFTExample], *, eos_id: int, pad_id: int) -> Batch:
    """Right-padded batch: ``input_ids``, ``attention_mask``, ``labels`` (-100 on the prompt and the
    padding: completion-only loss) and ``flag`` (B,) from each example."""
    if not examples:
        raise ValueError("collate_sft needs at least one example")
    rows = [ex.ids(eos_id) for ex in examples]
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (ex, row) in enumerate(zip(examples, rows)):
        ids[i, :len(row)] = torch.tensor(row)
        mask[i, :len(row)] = 1
        labels[i, len(ex.prompt):len(row)] = torch.tensor(row[len(ex.prompt):], dtype=torch.long)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels,
            "flag": torch.tensor([ex.flag for ex in examples], dtype=torch.bool)}


def steps_for_epochs(n_examples: int, batch_size: int, epochs: int) -> int:
    """Optimiser steps that show every example ``epochs`` times (the last batch may run into the next
    epoch's shuffle, as with ``drop_last=False``)."""
    for name, v in {"n_examples": n_examples, "batch_size": batch_size, "epochs": epochs}.items():
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    return -(-n_examples * epochs // batch_size)


def sft_batches(examples: Sequence[SFTExample], batch_size: int, seed: int, *, eos_id: int,
                pad_id: int) -> Callable[[int], Batch]:
    """``batches(step)`` for ``lib.core.train.train``: consecutive slices of a stream of epoch-wise
    random permutations of ``examples`` (epoch e's permutation depends only on (seed, e)), so step s's
    batch is a pure function of (seed, s) and every example is seen once per epoch."""
    examples = list(examples)
    n = len(examples)
    if n == 0 or batch_size < 1:
        raise ValueError(f"need examples and batch_size >= 1, got {n} examples, batch_size={batch_size}")
    perms: dict[int, list[int]] = {}

    def perm(epoch: int) -> list[int]:
        if epoch not in perms:
            perms[epoch] = torch.randperm(n, generator=step_generator(seed, epoch)).tolist()
        return perms[epoch]

    def batch(step: int) -> Batch:
        idx = [perm(p // n)[p % n] for p in range(step * batch_size, (step + 1) * batch_size)]
        return collate_sft([examples[i] for i in idx], eos_id=eos_id, pad_id=pad_id)
    return batch


def completion_ce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over the positions whose (shifted) label is not -100."""
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(), labels[:, 1:].reshape(-1),
                           ignore_index=IGNORE)


def sft_loss(model: torch.nn.Module, batch: Batch, *,
             extra: Callable[[torch.Tensor, Batch], torch.Tensor] | None = None) -> torch.Tensor:
    """Completion-only SFT loss (mean over all completion tokens of the batch), plus ``extra(logits,
    batch)`` if given (e.g. a penalty on flagged examples). Use as ``loss_fn`` of ``lib.core.train``
    (``functools.partial(sft_loss, extra=...)`` for the extra term)."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    loss = completion_ce(logits, batch["labels"])
    return loss if extra is None else loss + extra(logits, batch)


# --- lengths ---------------------------------------------------------------------------------------

def completion_lengths(sequences: torch.Tensor, eos_id: int | Sequence[int], *, prompt_len: int = 0,
                       pad_id: int | None = None) -> torch.Tensor:
    """Tokens generated before the first end token, per row of ``generate``'s output (B, T); the first
    ``prompt_len`` columns (the, possibly left-padded, prompt) are dropped. A row without an end token
    counts all its tokens; ``pad_id`` tokens (the padding ``generate`` writes after a row has ended)
    never count, also when the pad id is not the end id."""
    gen = sequences[:, prompt_len:]
    eos = torch.as_tensor([eos_id] if isinstance(eos_id, int) else list(eos_id), device=gen.device)
    is_eos = torch.isin(gen, eos)
    before = is_eos.long().cumsum(1) == 0                 # positions strictly before the first end token
    if pad_id is not None:
        before &= gen != pad_id
    return before.sum(1)


def length_stats(lengths: torch.Tensor | Sequence[float], cap: int) -> dict[str, float]:
    """Mean, median and max length and ``frac_at_cap``: the share of outputs that reached ``cap``
    tokens (generation stopped by the limit, not by the model)."""
    x = torch.as_tensor(lengths, dtype=torch.float)
    if x.numel() == 0:
        raise ValueError("length_stats needs at least one length")
    return {"mean": float(x.mean()), "median": float(x.median()), "max": float(x.max()),
            "frac_at_cap": float((x >= cap).float().mean())}


def left_pad(prompts: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded ``input_ids`` and ``attention_mask`` for batched generation."""
    width = max(map(len, prompts))
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, p in enumerate(prompts):
        if len(p):
            ids[i, width - len(p):] = torch.as_tensor(list(p))
            mask[i, width - len(p):] = 1
    return ids, mask


@torch.no_grad()
def generate(model: torch.nn.Module, prompts: Sequence[Sequence[int]], *, max_new_tokens: int, eos_id: int,
             pad_id: int, temperature: float = 1.0, top_p: float = 0.9, do_sample: bool = True,
             batch_size: int = 64, seed: int | None = None) -> list[torch.Tensor]:
    """Sample continuations of token-id ``prompts`` with ``model.generate`` in left-padded batches;
    returns, per batch, the generated part (B, ≤ max_new_tokens), padded with ``pad_id`` after a row
    ends. ``seed`` fixes the sampling (the global torch generator is re-seeded)."""
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if seed is not None:
        torch.manual_seed(seed)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(prompts), batch_size):
        ids, mask = left_pad(prompts[i:i + batch_size], pad_id)
        seq = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device),
                             max_new_tokens=max_new_tokens, do_sample=do_sample,
                             temperature=temperature if do_sample else None, top_p=top_p if do_sample else None,
                             top_k=None, eos_token_id=eos_id, pad_token_id=pad_id)
        out.append(seq[:, ids.shape[1]:].cpu())
    model.train(was_training)
    return out


def generate_lengths(model: torch.nn.Module, prompts: Sequence[Sequence[int]], *, max_new_tokens: int,
                     eos_id: int, pad_id: int, **kwargs) -> torch.Tensor:
    """Output lengths (tokens before the first end token) of sampled continuations of ``prompts``
    (``generate``'s keyword arguments pass through)."""
    batches = generate(model, prompts, max_new_tokens=max_new_tokens, eos_id=eos_id, pad_id=pad_id, **kwargs)
    return torch.cat([completion_lengths(b, eos_id, pad_id=pad_id) for b in batches])
