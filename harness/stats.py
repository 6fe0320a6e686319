"""Statistics derived from raw samples when reading: median, IQR, confidence intervals.

Nothing here reads a clock or a file; records keep raw samples and these functions summarise them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 2000


@dataclass(frozen=True)
class Summary:
    """Median, quartiles and a bootstrap confidence interval of the median of ``n`` samples."""

    n: int
    median: float
    q1: float
    q3: float
    ci_low: float
    ci_high: float
    mean: float
    std: float

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1


def _clean(samples: Sequence[float]) -> np.ndarray:
    arr = np.asarray([s for s in samples if s is not None], dtype=float)
    return arr[np.isfinite(arr)]


def bootstrap_ci(
    samples: Sequence[float],
    statistic: str = "median",
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the median or mean; one sample gives a zero-width one."""
    arr = _clean(samples)
    if arr.size == 0:
        return (float("nan"), float("nan"))
    if arr.size == 1:
        return (float(arr[0]), float(arr[0]))
    rng = np.random.default_rng(seed)
    draws = arr[rng.integers(0, arr.size, size=(resamples, arr.size))]
    stats = np.median(draws, axis=1) if statistic == "median" else draws.mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    return float(np.quantile(stats, alpha)), float(np.quantile(stats, 1.0 - alpha))


def summarize(samples: Sequence[float], confidence: float = DEFAULT_CONFIDENCE) -> Summary | None:
    """Summary of the finite samples, or ``None`` when there are none."""
    arr = _clean(samples)
    if arr.size == 0:
        return None
    q1, median, q3 = np.quantile(arr, [0.25, 0.5, 0.75])
    low, high = bootstrap_ci(arr, "median", confidence)
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return Summary(int(arr.size), float(median), float(q1), float(q3), low, high, float(arr.mean()), std)


def mean_ci(values: Sequence[float], confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval (for per-seed values such as test accuracy)."""
    from scipy import stats as sps

    arr = _clean(values)
    if arr.size == 0:
        return (float("nan"),) * 3
    mean = float(arr.mean())
    if arr.size == 1:
        return mean, mean, mean
    half = float(sps.t.ppf(0.5 + confidence / 2, arr.size - 1) * arr.std(ddof=1) / np.sqrt(arr.size))
    return mean, mean - half, mean + half
