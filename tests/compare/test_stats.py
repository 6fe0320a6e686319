"""Statistics derived from raw samples."""

from __future__ import annotations

import numpy as np
import pytest

from harness.compare import stats


def test_summary_of_known_samples() -> None:
    summary = stats.summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert summary is not None
    assert summary.median == 3.0 and summary.q1 == 2.0 and summary.q3 == 4.0 and summary.iqr == 2.0
    assert summary.ci_low <= summary.median <= summary.ci_high
    assert summary.n == 5


def test_non_finite_and_missing_samples_are_ignored() -> None:
    summary = stats.summarize([1.0, None, float("nan"), 3.0])  # type: ignore[list-item]
    assert summary is not None and summary.n == 2 and summary.median == 2.0
    assert stats.summarize([]) is None


def test_bootstrap_ci_covers_the_true_median() -> None:
    rng = np.random.default_rng(0)
    covered = 0
    for trial in range(200):
        samples = rng.lognormal(0.0, 0.1, size=30)
        low, high = stats.bootstrap_ci(samples, seed=trial)
        covered += low <= 1.0 <= high
    assert 0.88 <= covered / 200 <= 0.99  # nominal 95%


def test_mean_ci_t_interval() -> None:
    mean, low, high = stats.mean_ci([0.9, 0.92, 0.94])
    assert mean == pytest.approx(0.92)
    assert high - mean == pytest.approx(4.302653 * 0.02 / np.sqrt(3), rel=1e-4)
    assert stats.mean_ci([0.5]) == (0.5, 0.5, 0.5)
