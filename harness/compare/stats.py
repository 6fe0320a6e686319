"""Statistics of raw samples: summaries with bootstrap intervals, Student-t intervals, and the
hierarchical bootstrap of a ratio between two sets of runs (see :mod:`harness.compare.check` for
why runs are resampled before the samples within them).

Nothing here reads a clock or a file; records keep raw samples and these functions summarise them.
The point estimates use :mod:`harness.record.derived`'s definitions (one median everywhere).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from harness.record.derived import STATISTICS, finite, median

DEFAULT_CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 2000
# The variance of a Hodges-Lehmann estimate over m normal samples is about (pi / 3) sigma^2 / m:
# 3/pi of a median's, within 5% of a mean's.
HL_VARIANCE = math.pi / 3


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


def bootstrap_ci(
    samples: Sequence[float],
    statistic: str = "median",
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the median or mean; one sample gives a zero-width one."""
    arr = finite(samples)
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
    arr = finite(samples)
    if arr.size == 0:
        return None
    q1, q3 = np.quantile(arr, [0.25, 0.75])
    low, high = bootstrap_ci(arr, "median", confidence)
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return Summary(int(arr.size), median(arr), float(q1), float(q3), low, high, float(arr.mean()), std)


def mean_ci(values: Sequence[float], confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval (for per-seed values such as test accuracy)."""
    from scipy import stats as sps

    arr = finite(values)
    if arr.size == 0:
        return (float("nan"),) * 3
    mean = float(arr.mean())
    if arr.size == 1:
        return mean, mean, mean
    half = float(sps.t.ppf(0.5 + confidence / 2, arr.size - 1) * arr.std(ddof=1) / np.sqrt(arr.size))
    return mean, mean - half, mean + half


_NAN_REDUCE = {"median": np.nanmedian, "mean": np.nanmean, "min": np.nanmin, "max": np.nanmax}


def _row_statistic(rows: np.ndarray, statistic: str) -> np.ndarray:
    if statistic != "median":
        return STATISTICS[statistic](rows, axis=1)
    ordered = np.sort(rows, axis=1)  # several times faster than np.median on many short rows
    n = rows.shape[1]
    return (ordered[:, (n - 1) // 2] + ordered[:, n // 2]) / 2.0


def bootstrap_runs(
    runs: list[np.ndarray], statistic: str, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """``resamples`` draws of the pooled ``statistic``: runs resampled, then samples within runs."""
    lengths = np.array([len(r) for r in runs])
    n_max = int(lengths.max())
    padded = np.full((len(runs), n_max), np.nan)
    for i, run in enumerate(runs):
        padded[i, : len(run)] = run
    picked = rng.integers(0, len(runs), size=(resamples, len(runs)))
    picked_len = lengths[picked][..., None]
    within = (rng.random((resamples, len(runs), n_max)) * picked_len).astype(np.intp)
    draws = padded.ravel()[picked[..., None] * n_max + within]
    if np.all(lengths == n_max):
        return _row_statistic(draws.reshape(resamples, -1), statistic)
    draws[np.arange(n_max) >= picked_len] = np.nan
    return _NAN_REDUCE[statistic](draws.reshape(resamples, -1), axis=1)


def difference_interval(
    baseline_by_seed: Mapping[int, float],
    current_by_seed: Mapping[int, float],
    confidence: float = DEFAULT_CONFIDENCE,
) -> tuple[float, float, float, str]:
    """Mean(current) - mean(baseline), its t interval and the method (paired when seeds match)."""
    from scipy import stats as sps

    base, cur = np.array(list(baseline_by_seed.values())), np.array(list(current_by_seed.values()))
    if base.size == 0 or cur.size == 0:
        return float("nan"), float("nan"), float("nan"), "no values"
    estimate = float(cur.mean() - base.mean())
    if set(baseline_by_seed) == set(current_by_seed) and base.size >= 2:
        diffs = np.array([current_by_seed[s] - baseline_by_seed[s] for s in baseline_by_seed])
        se, dof, method = (
            diffs.std(ddof=1) / np.sqrt(diffs.size),
            diffs.size - 1,
            f"paired t, {diffs.size} seeds",
        )
    elif base.size >= 2 and cur.size >= 2:
        vb, vc = base.var(ddof=1) / base.size, cur.var(ddof=1) / cur.size
        se, method = np.sqrt(vb + vc), f"Welch t, {base.size} vs {cur.size} seeds"
        dof = (vb + vc) ** 2 / (vb**2 / (base.size - 1) + vc**2 / (cur.size - 1)) if se > 0 else 1.0
    else:
        return estimate, float("nan"), float("nan"), "fewer than 2 seeds on a side"
    half = float(sps.t.ppf(0.5 + confidence / 2.0, dof) * se) if se > 0 else 0.0
    return estimate, estimate - half, estimate + half, method


def hodges_lehmann(values: Sequence[float] | np.ndarray) -> float:
    """The Hodges-Lehmann estimate of a location: the median of every pairwise mean (each value
    with itself included). Robust like a median (one wild value moves it little) and nearly as
    efficient as a mean."""
    x = np.asarray(values, dtype=float)
    i, j = np.triu_indices(x.size)
    return float(np.median((x[i] + x[j]) / 2))
