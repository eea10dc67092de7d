"""Paired differences: against a hand computation of the t statistic."""
import math

import numpy as np
import pytest

from lib.core.stats import paired_difference


def test_paired_difference_matches_the_t_statistic_by_hand():
    a = np.array([0.81, 0.77, 0.90, 0.85, 0.79, 0.88])
    b = np.array([0.75, 0.78, 0.82, 0.80, 0.74, 0.83])
    d = a - b
    se = d.std(ddof=1) / math.sqrt(len(d))
    res = paired_difference(a, b)
    assert res.mean == pytest.approx(d.mean())
    # t_{0.975, 5} = 2.5706 (standard tables)
    assert res.hi - res.mean == pytest.approx(2.5706 * se, rel=1e-4)
    # two-sided p of t = mean / se with 5 degrees of freedom, here t = 3.8 -> p ~ 0.0126 (tables: 0.01 < p < 0.02)
    t = d.mean() / se
    assert 0.01 < res.p < 0.02 and t == pytest.approx(3.81, abs=0.05)
    assert res.n == 6


def test_paired_difference_rejects_bad_input():
    with pytest.raises(ValueError, match="equal length"):
        paired_difference([1.0], [0.0])
    with pytest.raises(ValueError, match="alpha"):
        paired_difference([1.0, 2.0], [0.0, 1.0], alpha=1.5)


def test_mcnemar_exact_counts_only_discordant_pairs():
    from lib.core.stats import mcnemar_exact
    a = np.array([1, 1, 1, 1, 1, 1, 0, 1, 0, 0], dtype=bool)
    b = np.array([0, 0, 0, 0, 0, 0, 0, 1, 0, 0], dtype=bool)
    # six discordant pairs, all for a: p = 2 * 0.5**6 (exact binomial, two-sided)
    assert mcnemar_exact(a, b) == pytest.approx(2 * 0.5 ** 6)
    assert mcnemar_exact(b, a) == pytest.approx(2 * 0.5 ** 6)
    assert mcnemar_exact(a, a) == 1.0
    with pytest.raises(ValueError, match="equal length"):
        mcnemar_exact(a, b[:5])
