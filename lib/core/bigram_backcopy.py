"""Bigram-Backcopy (Gu et al., arXiv 2410.10781, Sec. 3): a Markov chain over symbols in which, after a
trigger symbol, the previous-but-one token is copied; a fixed token (BOS) at a chosen position. Idle heads
(no trigger) grow an attention sink on the fixed token; used by 06_attention_sink and 04_simlayerkv."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

EVAL_SEED = 123_456   # the held-out sequences are the same for every run


@dataclass(frozen=True)
class BigramBackcopy:
    """Bigram-Backcopy over ``n_symbols`` symbols: rows of the transition matrix ~ Dirichlet
    (``concentration``), ``n_triggers`` trigger symbols after which the previous-but-one token is
    copied. A fixed token (id ``n_symbols``, "BOS") sits at 1-based ``fixed_position`` of every
    sequence (0: none, every position is from the chain). ``seed`` fixes the chain and the triggers."""
    n_symbols: int = 64
    n_triggers: int = 4
    concentration: float = 0.3
    fixed_position: int = 1
    seed: int = 0
    cumulative: np.ndarray = field(init=False, repr=False, compare=False)
    triggers: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.n_symbols, int) or self.n_symbols < 2:
            raise ValueError(f"n_symbols must be an int >= 2, got {self.n_symbols!r}")
        if not 0 <= self.n_triggers < self.n_symbols:
            raise ValueError(f"n_triggers must be in [0, n_symbols), got {self.n_triggers!r}")
        if not self.concentration > 0:
            raise ValueError(f"concentration must be > 0, got {self.concentration!r}")
        if self.fixed_position < 0:
            raise ValueError(f"fixed_position must be >= 0 (0: no fixed token), got {self.fixed_position!r}")
        rng = np.random.default_rng(self.seed)
        P = rng.dirichlet(np.full(self.n_symbols, self.concentration), size=self.n_symbols)
        object.__setattr__(self, "cumulative", np.cumsum(P, axis=1))
        object.__setattr__(self, "triggers", np.sort(rng.choice(self.n_symbols, self.n_triggers, replace=False)))

    @property
    def bos_id(self) -> int:
        """Id of the fixed token."""
        return self.n_symbols

    @property
    def vocab_size(self) -> int:
        """Symbols plus the fixed token."""
        return self.n_symbols + 1

    def sample(self, n: int, seq_len: int, rng: np.random.Generator) -> torch.Tensor:
        """``n`` sequences (n, seq_len) of token ids."""
        if n < 1 or seq_len < 2:
            raise ValueError(f"need n >= 1 and seq_len >= 2, got n={n}, seq_len={seq_len}")
        if self.fixed_position > seq_len:
            raise ValueError(f"fixed_position {self.fixed_position} is beyond seq_len {seq_len}")
        L = seq_len - (self.fixed_position > 0)
        x = np.empty((n, L), dtype=np.int64)
        x[:, 0] = rng.integers(self.n_symbols, size=n)
        V = self.n_symbols
        flat = (self.cumulative + np.arange(V)[:, None]).ravel()    # row r's CDF shifted by r
        is_trigger = np.zeros(V, dtype=bool)
        is_trigger[self.triggers] = True
        for t in range(1, L):
            prev = x[:, t - 1]
            nxt = np.searchsorted(flat, prev + rng.random(n), side="right") - prev * V
            nxt = np.clip(nxt, 0, V - 1)
            if t >= 2:
                nxt = np.where(is_trigger[prev], x[:, t - 2], nxt)
            x[:, t] = nxt
        if self.fixed_position:
            x = np.insert(x, self.fixed_position - 1, self.bos_id, axis=1)
        return torch.from_numpy(x)

    def batches(self, batch_size: int, seq_len: int, seed: int) -> Callable[[int], dict[str, torch.Tensor]]:
        """``batches(step)`` for ``lib.core.train``: depends only on (seed, step)."""
        def batch(step: int) -> dict[str, torch.Tensor]:
            return {"input_ids": self.sample(batch_size, seq_len, np.random.default_rng([seed, step]))}
        return batch

    def eval_set(self, n: int = 64, seq_len: int = 64) -> torch.Tensor:
        """Held-out sequences (n, seq_len), the same for every training seed."""
        return self.sample(n, seq_len, np.random.default_rng(EVAL_SEED))
