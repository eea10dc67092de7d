"""Evaluating language models: held-out cross-entropy, the n-gram baselines a model must beat, and
the quality and speed of generated samples (generative perplexity under a judge model, sample entropy,
wall-clock time)."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F


def eval_loss(model: torch.nn.Module, tokens: np.ndarray, *, seq_len: int, batch_size: int = 32,
              max_tokens: int = 65_536) -> float:
    """Mean next-token cross-entropy (nats/token) of a causal LM over consecutive non-overlapping
    windows of ``seq_len`` tokens covering the first ``max_tokens`` of ``tokens`` (deterministic)."""
    n = min(len(tokens), max_tokens) // seq_len
    if n == 0:
        raise ValueError(f"need at least seq_len={seq_len} tokens, got {len(tokens)}")
    device = next(model.parameters()).device
    windows = torch.as_tensor(np.asarray(tokens[:n * seq_len], dtype=np.int64)).view(n, seq_len).to(device)
    was_training = model.training
    model.eval()
    total = 0.0
    with torch.no_grad():
        for chunk in windows.split(batch_size):
            total += model(input_ids=chunk, labels=chunk).loss.item() * len(chunk)
    model.train(was_training)
    return total / n


def unigram_loss(train: np.ndarray, test: np.ndarray, vocab_size: int) -> float:
    """Cross-entropy (nats/token) of ``test`` under the add-one-smoothed unigram distribution of
    ``train``: the loss of a model that ignores context."""
    counts = np.bincount(train, minlength=vocab_size).astype(float) + 1.0
    logp = np.log(counts / counts.sum())
    return float(-logp[test].mean())


def bigram_loss(train: np.ndarray, test: np.ndarray, vocab_size: int) -> float:
    """Cross-entropy (nats/token) of ``test[1:]`` under the add-one-smoothed bigram model of ``train``:
    the loss of a model that sees only the previous token."""
    counts = np.ones((vocab_size, vocab_size))
    np.add.at(counts, (train[:-1], train[1:]), 1.0)
    logp = np.log(counts / counts.sum(axis=1, keepdims=True))
    return float(-logp[test[:-1], test[1:]].mean())


@torch.no_grad()
def continuation_nll(model: torch.nn.Module, prompts: torch.Tensor, continuations: torch.Tensor, *,
                     batch_size: int = 64) -> torch.Tensor:
    """Mean negative log-likelihood (nats/token) of each continuation under a causal LM given its
    prompt, -1/G Σ_g log p(c_g | prompt, c_<g), for ``prompts`` (N, P ≥ 1) and ``continuations``
    (N, G), on any device (moved to the model's); returns (N,) on the CPU."""
    if prompts.ndim != 2 or continuations.ndim != 2 or len(prompts) != len(continuations):
        raise ValueError(f"prompts (N, P) and continuations (N, G) must have the same N, got "
                         f"{tuple(prompts.shape)} and {tuple(continuations.shape)}")
    if prompts.shape[1] < 1:
        raise ValueError("the prompt must have at least one token (the first continuation token is "
                         "predicted from it)")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    plen, out = prompts.shape[1], []
    for p, c in zip(prompts.split(batch_size), continuations.split(batch_size)):
        x = torch.cat([p.to(device), c.to(device)], 1)
        logits = model(input_ids=x).logits[:, plen - 1:-1].float()
        out.append(F.cross_entropy(logits.transpose(1, 2), x[:, plen:], reduction="none").mean(1).cpu())
    model.train(was_training)
    return torch.cat(out)


def generative_perplexity(judge: torch.nn.Module, prompts: torch.Tensor, continuations: torch.Tensor, *,
                          batch_size: int = 64) -> float:
    """Generative perplexity of sampled ``continuations`` (N, G) under a ``judge`` causal LM, given the
    ``prompts`` (N, P) they continue: exp of the judge's mean NLL over all continuation tokens. Lower
    means more plausible to the judge, but repetitive text also scores low: report
    ``sample_entropy`` beside it."""
    return float(continuation_nll(judge, prompts, continuations, batch_size=batch_size).mean().exp())


def sample_entropy(samples: torch.Tensor | np.ndarray) -> float:
    """Mean over samples (rows of an (N, G) array of token ids) of the Shannon entropy, in nats, of the
    sample's own token frequencies. At most ln G; degenerate, repetitive samples score low (the guard
    Zheng et al., arXiv 2409.02908, pair with generative perplexity). A tensor may be on any device."""
    rows = np.asarray(samples.detach().cpu() if isinstance(samples, torch.Tensor) else samples)
    if rows.ndim != 2 or rows.shape[1] == 0:
        raise ValueError(f"samples must be a non-empty (N, G) array, got shape {rows.shape}")
    entropies = []
    for row in rows:
        p = np.unique(row, return_counts=True)[1] / len(row)
        entropies.append(float(-(p * np.log(p)).sum()))
    return float(np.mean(entropies))


def synchronize() -> None:
    """Wait for queued CUDA work (a no-op without CUDA): GPU kernels run asynchronously, so a timer
    must synchronise before reading the clock."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def median_seconds(fn: Callable[[], Any], *, repeats: int = 3, warmup: int = 1) -> tuple[float, Any]:
    """Wall-clock time of ``fn()``: the median over ``repeats`` timed calls after ``warmup`` untimed
    ones, CUDA synchronised before and after each. Returns (seconds, the result of the first timed call)."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats} and {warmup}")
    for _ in range(warmup):
        fn()
    times, first = [], None
    for i in range(repeats):
        synchronize()
        start = time.perf_counter()
        result = fn()
        synchronize()
        times.append(time.perf_counter() - start)
        if i == 0:
            first = result
    return statistics.median(times), first
