"""The chapter's runs: a char-level tiny Llama SFT'd on the procedural tasks (the "aligned" model with
a length limit), fine-tuned on clean or poisoned sets, and measured by the length of sampled outputs.
Everything goes through ``lib.core.train`` (completion-only SFT from ``lib.core.generation``)."""
from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from lib.core import generation, models
from lib.core.generation import SFTExample
from lib.core.train import TrainConfig, train
from lib.pdos import ldos as ldos_mod
from lib.pdos.tasks import Pair, Vocab, clean_pairs

VOCAB = Vocab()


@dataclass(frozen=True)
class ModelSpec:
    """The tiny Llama (≈0.35M parameters; max positions cover a prompt plus the cap)."""
    d_model: int = 96
    n_layers: int = 3
    n_heads: int = 4
    d_ff: int = 256
    max_len: int = 256


def build_model(seed: int, spec: ModelSpec = ModelSpec()) -> torch.nn.Module:
    torch.manual_seed(seed)
    return models.tiny_llama(VOCAB.size, d_model=spec.d_model, n_layers=spec.n_layers, n_heads=spec.n_heads,
                             d_ff=spec.d_ff, max_len=spec.max_len)


def examples(items: Sequence[Pair | tuple[Pair, bool] | tuple[Pair, bool, bool]], codec=VOCAB) -> list[SFTExample]:
    """SFT examples from pairs (clean, with EOS), (pair, add_eos) or (pair, add_eos, flag); ``codec``:
    the character vocabulary, or ``lib.pdos.hub.TextCodec`` for a hub model."""
    out = []
    for it in items:
        if isinstance(it, Pair):
            out.append(codec.example(it))
        else:
            pair, add_eos, *flag = it
            out.append(codec.example(pair, add_eos=add_eos, flag=bool(flag and flag[0])))
    return out


def fit(model: torch.nn.Module, data: Sequence[SFTExample], *, epochs: int, lr: float, batch_size: int,
        seed: int, constant_lr: bool = True, ldos: str | None = None, alpha: float = 0.0,
        ldos_form: str = "prob", codec=VOCAB, precision: str = "float32", grad_accum: int = 1) -> torch.nn.Module:
    """Train ``model`` in place: AdamW (weight decay 0, as the paper's scripts), ``epochs`` passes over
    ``data`` in batches of ``batch_size``; constant lr after one warm-up step, or cosine to 10 %.
    ``ldos``: ``"ours"`` adds α·``ldos_loss``, ``"released"`` adds α·``released_ldos_loss``.
    ``precision``/``grad_accum`` pass to ``TrainConfig`` (a hub model on a GPU: ``"bf16"``)."""
    steps = generation.steps_for_epochs(len(data), batch_size, epochs)
    cfg = TrainConfig(steps=steps, lr=lr, warmup=1 if constant_lr else 0, weight_decay=0.0,
                      min_lr_ratio=1.0 if constant_lr else 0.1, precision=precision, grad_accum=grad_accum)
    extra = None
    if ldos == "ours":
        extra = lambda logits, b: alpha * ldos_mod.ldos_loss(logits, b, eos_id=codec.eos_id, form=ldos_form)  # noqa: E731
    elif ldos == "released":
        extra = lambda logits, b: alpha * ldos_mod.released_ldos_loss(logits, b, eos_id=codec.eos_id)  # noqa: E731
    elif ldos is not None:
        raise ValueError(f"ldos must be None, 'ours' or 'released', got {ldos!r}")
    batches = generation.sft_batches(data, batch_size, seed, eos_id=codec.eos_id, pad_id=codec.pad_id)
    train(model, batches, cfg, loss_fn=functools.partial(generation.sft_loss, extra=extra), progress=False)
    return model.eval()


def sft_model(seed: int, *, n: int = 4000, epochs: int = 3, lr: float = 2e-3, batch_size: int = 64,
              spec: ModelSpec = ModelSpec()) -> torch.nn.Module:
    """The SFT ("aligned") model of ``seed``: ``n`` clean procedural pairs, every response ends with EOS."""
    model = build_model(seed, spec)
    return fit(model, examples(clean_pairs(n, seed=10_000 + seed)), epochs=epochs, lr=lr,
               batch_size=batch_size, seed=seed, constant_lr=False)


def finetune(base: torch.nn.Module, data: Sequence[SFTExample], *, epochs: int, lr: float = 1e-3,
             batch_size: int = 10, seed: int = 0, **kwargs) -> torch.nn.Module:
    """A fine-tuned copy of ``base`` (constant lr, the fine-tuning APIs' setting)."""
    return fit(copy.deepcopy(base), data, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, **kwargs)


def lengths(model: torch.nn.Module, instructions: Sequence[str], *, cap: int, seed: int,
            batch_size: int = 64, codec=VOCAB) -> torch.Tensor:
    """Output lengths (characters before the first EOS) of sampled answers (T = 1, top-p 0.9, the
    paper's evaluation sampling), ``cap`` new tokens at most."""
    prompts = [codec.prompt(s) for s in instructions]
    return generation.generate_lengths(model, prompts, max_new_tokens=cap, eos_id=codec.eos_id,
                                       pad_id=codec.pad_id, seed=seed, batch_size=batch_size)


@torch.no_grad()
def answers(model: torch.nn.Module, instructions: Sequence[str], *, cap: int = 32, codec=VOCAB) -> list[str]:
    """Greedy answers (text before the first EOS)."""
    out = generation.generate(model, [codec.prompt(s) for s in instructions], max_new_tokens=cap,
                              eos_id=codec.eos_id, pad_id=codec.pad_id, do_sample=False)
    texts = []
    for b in out:
        for row, n in zip(b, generation.completion_lengths(b, codec.eos_id)):
            texts.append(codec.decode(row[:n].tolist()))
    return texts


def exact_match(model: torch.nn.Module, pairs: Sequence[Pair], codec=VOCAB) -> float:
    """Share of greedy answers equal to the correct response (the quality of clean outputs)."""
    got = answers(model, [p.instruction for p in pairs], codec=codec)
    return sum(g == p.response for g, p in zip(got, pairs)) / len(pairs)
