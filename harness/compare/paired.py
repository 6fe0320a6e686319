"""Paired ratios between runs measured together: the answer to "how many times faster is A than
B?" that the machine's drift cannot bias.

Runs of one interleaved group (:mod:`harness.run.schedule`) trained their epoch ``r`` in the same
round, back to back, so the per-round ratio ``step_B[r] / step_A[r]`` cancels whatever the machine
was doing that minute. The estimate is the median of the per-round log ratios over every steady
round of every group (seed) the two share, back-transformed; its interval is a hierarchical
bootstrap that resamples groups first, then rounds within each (rounds of one group share a
process and are not independent), as :func:`harness.compare.stats.bootstrap_runs` does.

Ratios between runs that were not interleaved together (other groups, other machines) are not
paired: no function here makes one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from harness.compare.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, bootstrap_runs

MIN_ROUNDS = 2


@dataclass(frozen=True)
class PairedRatio:
    """B/A of step time from per-round pairs: estimate, interval, and how much data it rests on."""

    estimate: float
    low: float
    high: float
    n_groups: int
    n_rounds: int
    confidence: float = DEFAULT_CONFIDENCE

    @property
    def clear(self) -> bool:
        """The interval excludes 1: B and A differ beyond the noise of these rounds."""
        return self.low > 1.0 or self.high < 1.0

    def inverse(self) -> PairedRatio:
        """A/B (e.g. a throughput ratio from a step-time one)."""
        return PairedRatio(
            1 / self.estimate, 1 / self.high, 1 / self.low, self.n_groups, self.n_rounds, self.confidence
        )


def log_ratios(a: Mapping[int, float], b: Mapping[int, float]) -> np.ndarray:
    """``log(b[r] / a[r])`` for every round both have."""
    shared = sorted(set(a) & set(b))
    return np.log(np.array([b[r] for r in shared]) / np.array([a[r] for r in shared]))


def paired_ratio(
    groups: Iterable[np.ndarray],
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> PairedRatio | None:
    """The paired ratio from each group's per-round log ratios; ``None`` with fewer than
    :data:`MIN_ROUNDS` rounds in all."""
    kept = [np.asarray(g, dtype=float) for g in groups]
    kept = [g[np.isfinite(g)] for g in kept]
    kept = [g for g in kept if g.size]
    n_rounds = sum(g.size for g in kept)
    if n_rounds < MIN_ROUNDS:
        return None
    estimate = math.exp(float(np.median(np.concatenate(kept))))
    draws = bootstrap_runs(kept, "median", resamples, np.random.default_rng(seed))
    alpha = (1.0 - confidence) / 2.0
    low, high = np.exp(np.quantile(draws, [alpha, 1.0 - alpha]))
    return PairedRatio(estimate, float(low), float(high), len(kept), n_rounds, confidence)


def paired_between(
    a_by_group: Mapping[str, Mapping[int, float]],
    b_by_group: Mapping[str, Mapping[int, float]],
    confidence: float = DEFAULT_CONFIDENCE,
) -> PairedRatio | None:
    """B/A from two runs' per-round step times keyed by interleaved group (``""`` never pairs)."""
    shared = sorted(k for k in set(a_by_group) & set(b_by_group) if k)
    return paired_ratio((log_ratios(a_by_group[k], b_by_group[k]) for k in shared), confidence)


def describe(ratio: PairedRatio | None, unit: str = "×") -> str:
    """``1.42× [1.38, 1.46]`` or ``-``."""
    if ratio is None:
        return "-"
    return f"{ratio.estimate:.2f}{unit} [{ratio.low:.2f}, {ratio.high:.2f}]"


SENSITIVITY_LIMIT = 1.25  # an epoch after the schedule's pause may be at most this much slower
SENSITIVITY_TRIM = 0.1  # share of rounds cut from each end before the mean


def _trimmed_mean(values: np.ndarray, axis: int = -1) -> np.ndarray:
    ordered = np.sort(values, axis=axis)
    n = ordered.shape[axis]
    cut = int(n * SENSITIVITY_TRIM)
    return np.take(ordered, np.arange(cut, n - cut), axis=axis).mean(axis=axis)


def schedule_sensitivity(
    runs: Iterable[Mapping[int, float]],
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> PairedRatio | None:
    """How much slower an epoch that follows the interleaved schedule's pause is than one that
    follows the same run's previous epoch: the 10%-trimmed mean over every run and round of
    :func:`harness.record.derived.pause_ratios`, with a bootstrap interval over runs, then rounds.
    A mean, not a median: a framework that stalls after some pauses (Keras on TensorFlow stalled
    after four in ten) costs time and moves its epochs' mean, and a median over rounds would hide
    it; trimmed, so that one round beside a burst of other work does not decide alone. ``None``
    with fewer than :data:`MIN_ROUNDS` rounds in all."""
    kept = [np.array([v for v in run.values() if math.isfinite(v) and v > 0]) for run in runs]
    kept = [k for k in kept if k.size]
    n_rounds = sum(k.size for k in kept)
    if n_rounds < MIN_ROUNDS:
        return None
    estimate = float(_trimmed_mean(np.concatenate(kept)))
    rng = np.random.default_rng(seed)
    draws = np.empty(resamples)
    for i in range(resamples):
        picked = [kept[j] for j in rng.integers(0, len(kept), len(kept))]
        draws[i] = _trimmed_mean(np.concatenate([k[rng.integers(0, k.size, k.size)] for k in picked]))
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(draws, [alpha, 1.0 - alpha])
    return PairedRatio(estimate, float(low), float(high), len(kept), n_rounds, confidence)


def schedule_slows(found: PairedRatio, limit: float = SENSITIVITY_LIMIT) -> bool:
    """The schedule shown to slow a run: the whole interval of :func:`schedule_sensitivity` above
    ``limit``. Not the estimate alone: on short epochs (mnist1d's Keras epochs, some tens of ms on
    two cores) single rounds read 0.6x-2.5x from noise, and an estimate of 1.26x [1.01, 1.55]
    failed CI on rounds that straddled 1 evenly (median 1.02). The fault this is for (Keras on
    TensorFlow stalling after four pauses in ten, 2-10x) puts the interval far above the limit, and
    so does an injected 2x (``tests/run/test_schedule.py``)."""
    return found.low > limit
