"""The null model's attack (Zheng et al., Sec. 3 and Algorithm 1; ``notebook_gpt4/gpt-4-1106-preview_vs_nil.ipynb``
of sail-sg/Cheating-LLM-Benchmarks): a constant response made of an adversarial prefix and a structured
response, the prefix found by random search on the judge's log-probs of the target verdict, over training
instructions in both positions. ``random_search`` works with any judge: it only calls ``loss_fn(tokens)``."""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass
class SearchResult:
    """The best tokens found, the loss history (best loss after each step) and the number of judge calls."""
    tokens: list
    history: list[float]
    queries: int
    accepted: int = 0
    n_prompts: list[int] = field(default_factory=list)
    trace: list[tuple[int, list]] = field(default_factory=list)   # (step, tokens) at each acceptance

    def tokens_at(self, step: int) -> list:
        """The best tokens after ``step`` steps (for ablations over the number of steps)."""
        best = self.trace[0][1]
        for s, t in self.trace:
            if s > step:
                break
            best = t
        return list(best)


def curriculum(step: int, *, start: int = 2, every: int = 16, stop: int = 20) -> int:
    """The number of training prompts used at ``step`` in the official notebook: 2, growing by one every
    16 steps up to 2N (N = 10 instructions, in both orders)."""
    return min(stop, start + step // every)


def random_search(loss_fn: Callable[..., float], init_tokens: Sequence, sample_token: Callable[[random.Random], object],
                  steps: int, *, n_change: int = 1, seed: int = 0,
                  n_prompts: Callable[[int], int] | None = None,
                  decode: Callable[[Sequence], object] | None = None) -> SearchResult:
    """Greedy random search over a token sequence, as the paper's Algorithm 1.

    At each step the RNG is seeded with 16384·seed + step, ``n_change`` random positions get a random token
    (``sample_token(rng)``), and the candidate is kept if its loss is at most the best so far (ties are
    accepted). Candidates whose decoded text was already tried are skipped. ``loss_fn(tokens)`` is the mean
    −log p(target verdict) over the training prompts; with ``n_prompts`` (a schedule such as
    ``curriculum``) it is called as ``loss_fn(tokens, n)`` and the best loss is reset whenever n grows."""
    if steps < 0 or n_change < 1:
        raise ValueError(f"steps must be >= 0 and n_change >= 1, got {steps}, {n_change}")
    tokens = list(init_tokens)
    if not tokens:
        raise ValueError("init_tokens must not be empty")
    decode = decode or tuple

    def loss(t: list, n: int | None) -> float:
        return float(loss_fn(t) if n is None else loss_fn(t, n))

    n_cur = n_prompts(0) if n_prompts else None
    best = loss(tokens, n_cur)
    seen = {decode(tokens)}
    history, sizes, queries, accepted = [best], [n_cur or 0], 1, 0
    trace = [(0, list(tokens))]
    for step in range(steps):
        if n_prompts and n_prompts(step) != n_cur:
            n_cur = n_prompts(step)
            best = float("inf")   # the objective changed: accept the next candidate
        rng = random.Random(16384 * seed + step)
        cand = list(tokens)
        for pos in rng.sample(range(len(cand)), min(n_change, len(cand))):
            cand[pos] = sample_token(rng)
        key = decode(cand)
        if key in seen:
            history.append(best)
            sizes.append(n_cur or 0)
            continue
        seen.add(key)
        value = loss(cand, n_cur)
        queries += 1
        if value <= best:
            best, tokens = value, cand
            accepted += 1
            trace.append((step + 1, list(cand)))
        history.append(best)
        sizes.append(n_cur or 0)
    return SearchResult(tokens, history, queries, accepted, sizes, trace)
