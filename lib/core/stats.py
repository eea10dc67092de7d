"""Paired comparisons: over seeds, the mean difference with its t interval and the two-sided paired t-test;
over questions answered right or wrong by two models, the exact McNemar test."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class PairedDifference:
    """Mean of a - b over n pairs, its (1 - alpha) t interval [lo, hi] and the two-sided p-value."""
    mean: float
    lo: float
    hi: float
    p: float
    n: int


def paired_difference(a, b, alpha: float = 0.05) -> PairedDifference:
    """Paired t statistics of ``a - b`` (two equal-length sequences, one value per seed, n >= 2)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.ndim != 1 or len(d) < 2:
        raise ValueError(f"a and b must be 1-d of equal length >= 2, got difference shape {d.shape}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    n, mean = len(d), float(d.mean())
    se = float(d.std(ddof=1) / np.sqrt(n))
    half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * se
    p = float(stats.ttest_rel(np.asarray(a, float), np.asarray(b, float)).pvalue) if se > 0 else float(mean == 0)
    return PairedDifference(mean, mean - half, mean + half, p, n)


def mcnemar_exact(a, b) -> float:
    """Two-sided exact McNemar p-value for paired correctness ``a``, ``b`` (bool, same length): the
    binomial test of the discordant pairs (a right and b wrong vs the reverse) against one half."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a and b must be 1-d of equal length, got {a.shape} and {b.shape}")
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    if only_a + only_b == 0:
        return 1.0
    return float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)
