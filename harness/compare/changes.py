"""Step changes and drifts in each machine's headline series over commits, for the History
section and ``python -m harness history`` (the nightly verdict is :mod:`harness.compare.nightly`).

Each series is one machine's step time of one task, implementation, mode, device and spec, one
point per commit (:func:`harness.compare.history.history_frame`), in time order, as log values.

- **Segments**: binary segmentation under the absolute-deviation cost (each piece a constant
  level, its median; one wild point does not pull a level): the split that lowers the cost most,
  kept while it lowers it by more than ``PENALTY * sigma * log(n)``, then each side again. Each
  split is found in one pass with running medians (two heaps), so a year of nights costs
  milliseconds (PELT with ruptures' l1 cost took 94 s over 60 series of 365 nights).
- **Noise** ``sigma``: the mean absolute difference of consecutive points with its largest tenth
  left out (steps and outliers), scaled to a standard deviation, floored at :data:`MIN_SIGMA`:
  a median of differences collapses to zero on repeated or quantised values, and every wiggle
  became a change. At least the largest :data:`MIN_TRIMMED` differences are left out, as a step
  spoils one difference and a lone outlier two: under 21 points the tenth rounds down to fewer,
  and the step or outlier was counted as noise, raising the penalty above the very change it
  made (a 5.6% step over six points of 1% noise, or a 10% step right after one 3x night, was
  called noise). Two of a handful of differences is more than a tenth, so a short series is
  scaled by the expected trimmed mean for its length (simulated once per length, up to 30 ms).
  The price: short noisy series are listed a little more often (1-7 in 300 of 5-10 points at
  3% noise, none before; none at 1%, under the 5% floor).
- A piece needs :data:`MIN_SIZE` points, so one bad night is never a change; a piece of fewer
  than ``2 * MIN_SIZE`` points between two levels that agree is a **blip**, not a change and a
  change back (its two ends are dropped); an **outlier right before a step** is not where the
  level starts (the start moves past a first point far from the rest of its piece, as the
  nightly check's does); a change smaller than :data:`MIN_CHANGE` is not listed.
- **Drift**: when the steps found all go one way and one straight line (Theil-Sen) fits the
  series better (absolute deviation, two penalties for the line, its slope and its start,
  against one per step), the series is reported as a drift with its slope per night, not as a
  staircase of steps.
- Points that are not positive and finite are dropped, and named (:func:`dropped_points`).

A change is a *regression* when the level after it is slower than the level before by more than
the threshold; it is *recent* when its piece reaches the newest point and began within the last
``recent`` points.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

PENALTY = 3.0
MIN_SIGMA = 0.01  # 1%: below it, a run-to-run noise estimate from a handful of points is luck
MIN_SIZE = 2
MIN_POINTS = 2 * MIN_SIZE
MIN_CHANGE = 0.05  # a smaller step is not listed (half the default 10% threshold)
OUTLIER_SIGMAS = 4.0
MIN_TRIMMED = 2  # differences left out of the noise at least: a step spoils one, a lone outlier two
_SIGMA_OF_TRIMMED_DIFF = 1.0763  # sigma over the mean |consecutive difference| without its top tenth
SERIES = ["machine_id", "task", "impl", "mode", "device", "config_key"]
STEP, DRIFT = "step", "drift"


@dataclass(frozen=True)
class Change:
    """One change of one series: a step (where the new level starts, the levels around it) or a
    drift (``commit`` where it starts, ``before``/``after`` the line's values at its two ends,
    ``nights`` the points it spans)."""

    machine_id: str
    task: str
    impl: str
    mode: str
    device: str
    config_key: str
    commit: str
    run_at: pd.Timestamp
    before: float
    after: float
    regression: bool
    recent: bool
    kind: str = STEP
    nights: int = 0

    @property
    def ratio(self) -> float:
        return self.after / self.before

    @property
    def per_night(self) -> float:
        """A drift's change per point (night), as a fraction."""
        return self.ratio ** (1 / max(1, self.nights - 1)) - 1

    def describe(self) -> str:
        kind = "regression" if self.regression else "change"
        where = f"{self.machine_id} {self.task} {self.impl} [{self.mode}] {self.device}"
        if self.kind == DRIFT:
            return (
                f"{where}: step time drifts {self.per_night:+.2%} per night ({self.ratio - 1:+.0%} over "
                f"{self.nights} nights from commit {self.commit[:12]}, {self.run_at:%Y-%m-%d}), "
                f"{self.before * 1e3:.3g} ms -> {self.after * 1e3:.3g} ms"
                + (" (a regression)" if self.regression else "")
            )
        newest = " (newest points)" if self.recent else ""
        return (
            f"{where}: step time {kind} {self.ratio - 1:+.0%} at commit {self.commit[:12]} "
            f"({self.run_at:%Y-%m-%d}), {self.before * 1e3:.3g} ms -> {self.after * 1e3:.3g} ms{newest}"
        )


def noise_sigma(log_values: np.ndarray) -> float:
    """Point-to-point noise of a series of log values: the mean absolute consecutive difference
    without its largest tenth, and at least its largest :data:`MIN_TRIMMED` (steps, outliers),
    scaled to a standard deviation (for Gaussian noise), floored at :data:`MIN_SIGMA`. Not the
    median: on repeated or quantised values most differences are zero and a median says there is
    no noise at all."""
    diffs = np.sort(np.abs(np.diff(log_values)))
    if not diffs.size:
        return MIN_SIGMA
    trimmed = diffs.size // 10
    if trimmed >= MIN_TRIMMED:
        scale = _SIGMA_OF_TRIMMED_DIFF
    else:  # a few differences less a fixed number: the large-sample scale is off by up to 2x
        trimmed = min(MIN_TRIMMED, diffs.size - 1)
        scale = 1 / _expected_trimmed_diff(diffs.size, diffs.size - trimmed)
    return max(float(diffs[: diffs.size - trimmed].mean()) * scale, MIN_SIGMA)


@functools.cache
def _expected_trimmed_diff(n_diffs: int, kept: int) -> float:
    """The expected mean of the ``kept`` smallest absolute consecutive differences of
    ``n_diffs + 1`` points of unit Gaussian noise, simulated (a fixed seed: the same every run)."""
    noise = np.random.default_rng(0).normal(size=(20_000, n_diffs + 1))
    return float(np.sort(np.abs(np.diff(noise, axis=1)), axis=1)[:, :kept].mean())


def _prefix_costs(x: np.ndarray) -> np.ndarray:
    """``cost[k]``: the absolute deviation of ``x[:k]`` about its median, for every ``k``, in one
    pass with running medians (a max-heap below the median, a min-heap above, and their sums)."""
    low: list[float] = []  # negated: a max-heap
    high: list[float] = []
    sum_low = sum_high = 0.0
    out = np.zeros(x.size + 1)
    for k, value in enumerate(x.tolist(), start=1):
        if low and value > -low[0]:
            heapq.heappush(high, value)
            sum_high += value
        else:
            heapq.heappush(low, -value)
            sum_low += value
        if len(low) > len(high) + 1:
            moved = -heapq.heappop(low)
            sum_low -= moved
            heapq.heappush(high, moved)
            sum_high += moved
        elif len(high) > len(low):
            moved = heapq.heappop(high)
            sum_high -= moved
            heapq.heappush(low, -moved)
            sum_low += moved
        median = -low[0]
        out[k] = (sum_high - median * len(high)) + (median * len(low) - sum_low)
    return out


def _cost(x: np.ndarray) -> float:
    return float(np.abs(x - np.median(x)).sum()) if x.size else 0.0


def _best_split(x: np.ndarray) -> tuple[float, int] | None:
    """The split of ``x`` into two pieces of at least :data:`MIN_SIZE` that lowers the absolute
    deviation most: (the lowering, where the second piece starts)."""
    n = x.size
    if n < 2 * MIN_SIZE:
        return None
    before = _prefix_costs(x)
    after = _prefix_costs(x[::-1])[::-1]  # after[k]: the cost of x[k:]
    ks = np.arange(MIN_SIZE, n - MIN_SIZE + 1)
    total = before[ks] + after[ks]
    best = int(np.argmin(total))
    return float(before[n] - total[best]), int(ks[best])


def _segment(x: np.ndarray, penalty: float) -> list[int]:
    """Binary segmentation: the starts of every piece but the first."""
    cuts: list[int] = []
    pending = [(0, x.size)]
    while pending:
        a, b = pending.pop()
        found = _best_split(x[a:b])
        if found is None or found[0] <= penalty:
            continue
        cut = a + found[1]
        cuts.append(cut)
        pending += [(a, cut), (cut, b)]
    return sorted(cuts)


def _levels(x: np.ndarray, cuts: list[int]) -> list[float]:
    bounds = [0, *cuts, x.size]
    return [float(np.median(x[bounds[i] : bounds[i + 1]])) for i in range(len(bounds) - 1)]


def _clean(x: np.ndarray, cuts: list[int], sigma: float, floor: float) -> list[int]:
    """Outliers moved past, blips dropped, and changes below ``floor`` (a log ratio) merged, until
    none is left to change."""
    cuts = list(cuts)
    while True:
        bounds = [0, *cuts, x.size]
        moved = []
        for i, cut in enumerate(cuts):  # an outlier right before a step is not where it starts
            before, end = bounds[i], bounds[i + 2]
            level_before = float(np.median(x[before:cut]))
            while cut < end - MIN_SIZE:
                rest = float(np.median(x[cut + 1 : end]))
                overshoot = (x[cut] - rest) * np.sign(rest - level_before)
                if overshoot <= OUTLIER_SIGMAS * sigma:
                    break
                cut += 1
            moved.append(cut)
        cuts = sorted(set(moved))
        levels = _levels(x, cuts)
        bounds = [0, *cuts, x.size]
        drop: set[int] = set()
        for i in range(1, len(levels) - 1):  # a blip: a short piece between two levels that agree
            short = bounds[i + 1] - bounds[i] < 2 * MIN_SIZE
            if short and abs(levels[i + 1] - levels[i - 1]) < floor:
                drop |= {cuts[i - 1], cuts[i]}
        if not drop:
            small = [abs(levels[i + 1] - levels[i]) for i in range(len(cuts))]
            if small and min(small) < floor:  # the smallest change first: merging moves the levels
                drop = {cuts[int(np.argmin(small))]}
        if not drop:
            return cuts
        cuts = [c for c in cuts if c not in drop]


def _theil_sen(x: np.ndarray) -> tuple[float, float]:
    """The median of pairwise slopes, and the intercept that centres the residuals."""
    t = np.arange(x.size, dtype=float)
    i, j = np.triu_indices(x.size, k=1)
    slope = float(np.median((x[j] - x[i]) / (t[j] - t[i])))
    return slope, float(np.median(x - slope * t))


def segments(
    values: np.ndarray, floor: float = math.log1p(MIN_CHANGE)
) -> tuple[list[int], tuple[float, float] | None]:
    """The starts of each new level of ``values`` (positive, in time order; 0 < i < n), or, when
    one straight line fits them better than steps do, no starts and the line (slope per point and
    intercept, in log units). Too short a series (fewer than :data:`MIN_POINTS`) has neither."""
    return segments_of(np.log(np.asarray(values, dtype=float)), floor)


def segments_of(x: np.ndarray, floor: float) -> tuple[list[int], tuple[float, float] | None]:
    """:func:`segments` of values already on the scale the levels are compared on (log step
    times here; any series in ``benchmarks/change_points_tcpd.py``), ``floor`` in its units."""
    x = np.asarray(x, dtype=float)
    if x.size < MIN_POINTS or not np.all(np.isfinite(x)):
        return [], None
    sigma = noise_sigma(x)
    penalty = PENALTY * sigma * math.log(x.size)
    cuts = _clean(x, _segment(x, penalty), sigma, floor)
    directions = {np.sign(b - a) for a, b in itertools.pairwise(_levels(x, cuts))}
    if not cuts or len(directions) > 1:  # a drift shows as steps one way (a staircase)
        return cuts, None
    slope, intercept = _theil_sen(x)
    line_cost = float(np.abs(x - (intercept + slope * np.arange(x.size))).sum())
    bounds = [0, *cuts, x.size]
    step_cost = sum(_cost(x[bounds[i] : bounds[i + 1]]) for i in range(len(bounds) - 1))
    # A line pays two penalties (its slope and where it starts from), k steps pay k.
    if line_cost + 2 * penalty <= step_cost + len(cuts) * penalty and abs(slope) * (x.size - 1) >= floor:
        return [], (slope, intercept)
    return cuts, None


def change_points(values: np.ndarray) -> list[int]:
    """Indices where a new level starts (0 < i < n): :func:`segments` without drifts."""
    return segments(values)[0]


def usable(values: np.ndarray) -> np.ndarray:
    """Which points a series can use: positive and finite step times."""
    values = np.asarray(values, dtype=float)
    return np.isfinite(values) & (values > 0)


def _step_series(history: pd.DataFrame):  # noqa: ANN202 - a generator of (key, points)
    steps = history[history["metric"] == "step_time"]
    for key, series in steps.groupby(SERIES, sort=True):
        yield key, series.sort_values("created_at")


def dropped_points(history: pd.DataFrame) -> list[tuple[tuple[str, ...], list[str]]]:
    """Per step-time series, the commits whose point was dropped (not a positive, finite value)."""
    out = []
    for key, series in _step_series(history):
        bad = ~usable(series["value"].to_numpy(dtype=float))
        if bad.any():
            out.append((key, series["git_commit"][bad].astype(str).tolist()))
    return out


def _change(key: tuple, point: pd.Series, before: float, after: float, threshold: float, **kw: Any) -> Change:
    return Change(*key, commit=str(point["git_commit"]), run_at=point["created_at"], before=before,
                  after=after, regression=after / before > 1 + threshold, **kw)  # fmt: skip


def detect(history: pd.DataFrame, threshold: float = 0.10, recent: int = 3) -> list[Change]:
    """Every step and drift of every step-time series in ``history`` (a history frame)."""
    out = []
    for key, series in _step_series(history):
        series = series[usable(series["value"].to_numpy(dtype=float))]
        values = series["value"].to_numpy(dtype=float)
        cuts, line = segments(values, min(math.log1p(MIN_CHANGE), math.log1p(threshold)))
        if line is not None:
            slope, intercept = line
            first, last = math.exp(intercept), math.exp(intercept + slope * (values.size - 1))
            out.append(_change(key, series.iloc[0], first, last, threshold, recent=True, kind=DRIFT,
                               nights=values.size))  # fmt: skip
            continue
        bounds = [0, *cuts, len(values)]
        for i, cut in enumerate(cuts):
            before = float(np.median(values[bounds[i] : cut]))
            after = float(np.median(values[cut : bounds[i + 2]]))
            newest = i == len(cuts) - 1 and len(values) - cut <= recent
            out.append(_change(key, series.iloc[cut], before, after, threshold, recent=newest))
    return out
