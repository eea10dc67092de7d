"""Evaluating language models: held-out cross-entropy, and the n-gram baselines a model must beat."""
from __future__ import annotations

import numpy as np
import torch


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
