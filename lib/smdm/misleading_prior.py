"""A zero-shot multiple-choice task whose answer prior misleads, for unsupervised classifier-free
guidance (SMDM, eq. 7). The model is pretrained on unpaired sentences "⟨name⟩ likes ⟨object⟩ ."; most
of them (the background) name one of a few *popular* objects, while each test person's own object
is rare and seen only ``repeats`` times. A question offers the right object among distractors: popular
ones (the prior points away from the answer) or rare ones (a control where it does not).

Masking the prompt (the name) leaves the model's prior over objects; guidance divides it out, a
pointwise-mutual-information correction that needs no paired data."""
from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from lib.smdm.mdm import MASK, WordCorpus

BOS, VERB, END = "[BOS]", "likes", "."


@dataclass(frozen=True)
class ChoiceTask(WordCorpus):
    """``train`` (N, 6) rows ``[BOS] fn ln likes obj .``; ``prompts`` (Q, 4) ``[BOS] fn ln likes`` for the
    test people; ``options[kind]`` (Q, n_options) object ids with the answer in column 0, for
    ``kind`` in ("popular distractors", "rare distractors")."""
    prompts: torch.Tensor
    options: dict[str, torch.Tensor]
    popular: list[int]

    @property
    def end_id(self) -> int:
        return self.vocab.index(END)


def make_task(seed: int, *, n_test: int = 60, n_background: int = 480, n_objects: int = 24,
              n_popular: int = 4, repeats: int = 1, n_options: int = 4, n_first: int = 40,
              n_last: int = 40) -> ChoiceTask:
    """Distinct people: ``n_test`` who like a rare object (each sentence repeated ``repeats`` times)
    and ``n_background`` who like a popular one (objects ``0..n_popular-1``)."""
    if not 2 <= n_options <= n_popular + 1 or n_options > n_objects - n_popular:
        raise ValueError(f"n_options must be in 2..{min(n_popular + 1, n_objects - n_popular)} "
                         f"(popular distractors plus the answer, and enough rare objects), got {n_options}")
    if n_test + n_background > n_first * n_last:
        raise ValueError(f"n_test + n_background must be at most n_first * n_last = {n_first * n_last}")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    words = ([BOS, MASK, VERB, END] + [f"fn{i}" for i in range(n_first)] + [f"ln{i}" for i in range(n_last)]
             + [f"obj{i}" for i in range(n_objects)])
    ids = {w: i for i, w in enumerate(words)}
    obj = [ids[f"obj{i}"] for i in range(n_objects)]
    popular, rare = obj[:n_popular], obj[n_popular:]
    rng = random.Random(seed)
    people = rng.sample([(ids[f"fn{a}"], ids[f"ln{b}"]) for a in range(n_first) for b in range(n_last)],
                        n_test + n_background)
    test, background = people[:n_test], people[n_test:]
    likes = [rng.choice(rare) for _ in test]
    rows = [[ids[BOS], *p, ids[VERB], o, ids[END]] for p, o in zip(test, likes)] * repeats
    rows += [[ids[BOS], *p, ids[VERB], rng.choice(popular), ids[END]] for p in background]
    prompts = torch.tensor([[ids[BOS], *p, ids[VERB]] for p in test])
    pop = [[o, *rng.sample(popular, n_options - 1)] for o in likes]
    control = [[o, *rng.sample([r for r in rare if r != o], n_options - 1)] for o in likes]
    return ChoiceTask(words, torch.tensor(rows), prompts,
                      {"popular distractors": torch.tensor(pop), "rare distractors": torch.tensor(control)},
                      popular)


def choice_accuracy(model: torch.nn.Module, task: ChoiceTask, kind: str, *, cfg: float = 0.0) -> float:
    """Fraction of questions answered right (the mean of ``choice_correct``)."""
    return choice_correct(model, task, kind, cfg=cfg).float().mean().item()


def choice_correct(model: torch.nn.Module, task: ChoiceTask, kind: str, *, cfg: float = 0.0) -> torch.Tensor:
    """Per question (bool (Q,)): does the answer (column 0) get the highest conditional log-probability
    among the options, each scored as ``[BOS] fn ln likes ⟨option⟩ .`` with unsupervised guidance ``cfg``."""
    from lib.smdm import mdm as smdm
    if kind not in task.options:
        raise ValueError(f"kind must be one of {list(task.options)}, got {kind!r}")
    options = task.options[kind]
    q, n = options.shape
    device = next(model.parameters()).device
    prompts = task.prompts.repeat_interleave(n, 0).to(device)
    suffix = torch.full((q * n, 1), task.end_id, device=device)
    scores = smdm.conditional_logprob(model, prompts, options.reshape(-1, 1).to(device), task.mask_id,
                                      suffix=suffix, cfg=cfg).view(q, n)
    return (scores.argmax(1) == 0).cpu()
