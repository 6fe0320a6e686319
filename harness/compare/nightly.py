"""The nightly regression check (``python -m harness history --check``): is each machine's
series slower now than it was, beyond the threshold and beyond its own noise?

Change points (:mod:`harness.compare.changes`) say where a series moved, in hindsight; a nightly
job needs another answer, every night: *is the newest level a regression against the level
before it*. Measured on 40 nights with 3% noise and a 15% slowdown in the last k nights, the
change-point check never failed (no change point for k <= 3; from k = 4 the change was no longer
among the ``--recent`` newest points). This check, per series (one point per commit, in time
order, log values):

- where a trailing level (the newest two or more points) starts: the start that best fits two
  levels (least absolute deviation) over the newest :data:`WINDOW` nights, moved past an outlier
  right before the step; and the same fit on older stretches (up to :data:`HISTORY` nights
  back), so an older slowdown still counts until the level returns;
- the tail from that start is judged against the reference before it (up to :data:`REFERENCE`
  points): the excess of its median over the reference's median, in units of the reference's own
  noise (its median absolute deviation about its median, scaled to a standard deviation, floored
  at :data:`MIN_SIGMA`: repeated or quantised values do not make every wiggle significant);
- it is a **regression** when the tail's median is slower than the reference by more than the
  threshold, by at least :data:`MIN_Z` noise widths, with two or more of its nights beyond the
  threshold (one bad night never fails) and the newest night still slower by more than half the
  threshold (the check turns green on the first night the level is back);
- a regression whose first commit is listed in the acknowledgement file kept with the results
  (:mod:`harness.store.acknowledged`) is reported, not failed; a later, further slowdown is new;
- points that are not positive and finite are dropped, counted and named; a series with fewer
  than :data:`MIN_POINTS` usable points cannot be judged ("cannot tell").

Measured on synthetic nights (40 nights, 3% noise, a 15% step, threshold 10%): one series alone,
its noise night-wide (``tests/compare/test_nightly.py``, 1,000 histories each): red on the step's
third night in 97.6%, on every later night in at least 99.2%, on no quiet history; the default
suite's whole set of series (``python benchmarks/nightly_rates.py``, 200 histories): caught from
the third night in 99.5-100%, no false alarm. Red never on a lone 2x outlier. The check can only
see a change of about the threshold plus two noise widths; a 15% step over 3% noise is just that.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from harness.compare.changes import SERIES, usable
from harness.compare.stats import HL_VARIANCE, hodges_lehmann
from harness.compare.verdicts import ACKNOWLEDGED, CANNOT_TELL, PASS, REGRESSION, Verdict
from harness.store.acknowledged import Acknowledged

MIN_SIGMA = 0.01  # 1% of the level: below it a noise estimate from a handful of nights is luck
MIN_Z = 3.0
REFERENCE = 20  # nights of the level before a change that it is judged against
WINDOW = 60  # newest nights searched for where a trailing level starts
HISTORY = 180  # newest nights in which an older change point still counts
MIN_REFERENCE = 3
MIN_TAIL = 2
MIN_POINTS = MIN_REFERENCE + MIN_TAIL
# A level is the Hodges-Lehmann estimate of its log values (stats.hodges_lehmann): robust like a
# median (a lone 2x night moves it little) and nearly as efficient as a mean. With medians a 15%
# step over 3% noise read below a 10% threshold on its fourth night in 1.2-1.4% of series; with
# these, 0.5% (benchmarks/nightly_rates.py).


@dataclass(frozen=True)
class SeriesCheck:
    """One series, tonight: ``status`` (pass, regression, acknowledged, or cannot tell when the
    series has fewer than :data:`MIN_POINTS` usable points) and, when a trailing level was scored,
    where it starts and how much slower."""

    status: Verdict
    points: int
    dropped: list[str] = field(default_factory=list)  # commits whose point was not usable
    commit: str = ""  # the first commit of the slower level
    nights: int = 0  # how many of the newest nights it spans
    before: float = math.nan  # the reference level (median, in the series' unit)
    after: float = math.nan  # the trailing level (median)
    z: float = math.nan
    previous: str = ""  # the commit before ``commit`` in the series: the newest of the level before

    @property
    def ratio(self) -> float:
        return self.after / self.before

    @property
    def failing(self) -> bool:
        return self.status == REGRESSION


def robust_sigma(log_values: np.ndarray) -> float:
    """Noise of a level's log values: the median absolute deviation about their median, scaled to
    a standard deviation, floored at :data:`MIN_SIGMA` (identical values give the floor)."""
    if log_values.size < 2:
        return MIN_SIGMA
    mad = float(np.median(np.abs(log_values - np.median(log_values))))
    return max(1.4826 * mad, MIN_SIGMA)


def judge(
    values: Sequence[float],
    commits: Sequence[str],
    threshold: float = 0.10,
    acknowledged: Callable[[str], bool] = lambda commit: False,
) -> SeriesCheck:
    """The verdict on one series (``values`` in time order, one per commit)."""
    raw = np.asarray(values, dtype=float)
    good = usable(raw)
    dropped = [str(c) for c, ok in zip(commits, good, strict=True) if not ok]
    kept = [str(c) for c, ok in zip(commits, good, strict=True) if ok]
    verdict = _judge(np.log(raw[good]), kept, math.log1p(threshold), acknowledged)
    verdict.dropped.extend(dropped)
    return verdict


def _two_level_start(x: np.ndarray, first: int, end: int) -> int | None:
    """The start in ``x[first:end]`` that minimises the absolute deviation of a two-level fit
    (median before it, median from it on), keeping :data:`MIN_REFERENCE` points before it and
    :data:`MIN_TAIL` from it; ``None`` when the stretch is too short."""
    best: tuple[float, int] | None = None
    for start in range(first + MIN_REFERENCE, end - MIN_TAIL + 1):
        before, after = x[first:start], x[start:end]
        cost = float(np.abs(before - np.median(before)).sum() + np.abs(after - np.median(after)).sum())
        if best is None or cost < best[0]:
            best = (cost, start)
    return best[1] if best else None


def _l1_start(x: np.ndarray) -> int | None:
    """Where, in the newest :data:`WINDOW` points, a trailing level best starts (the best
    two-level fit), moved past an outlier right before the step."""
    n = x.size
    first = max(0, n - WINDOW)
    start = _two_level_start(x, first, n)
    if start is None:
        return None
    # An outlier right before a step fits the slower level better than the one before it; it is
    # not where the level starts: while the first point of the tail is far from the rest of it,
    # the start moves on (the outlier joins the reference, whose median it does not move).
    noise = robust_sigma(x[max(first, start - REFERENCE) : start])
    while start < n - MIN_TAIL and abs(x[start] - np.median(x[start + 1 :])) > 4 * noise:
        start += 1
    return start


def _older_starts(x: np.ndarray) -> list[int]:
    """Starts of a slower level older than the window, so it still counts until the level returns
    (up to :data:`HISTORY` nights back): the best two-level fit on each stretch of 2 x REFERENCE
    nights beginning before the window, the newest first."""
    n = x.size
    ends = range(n - WINDOW, max(MIN_REFERENCE, n - HISTORY) - 1, -REFERENCE)
    found = (_two_level_start(x, max(0, end - REFERENCE), min(end + REFERENCE, n)) for end in ends)
    return [start for start in found if start is not None]


def _score(x: np.ndarray, start: int, limit: float) -> tuple[bool, float, float, float]:
    """Whether the level from ``start`` on is a regression against the reference before it; its
    z score, and the two levels (log Hodges-Lehmann estimates: ``stats.hodges_lehmann``)."""
    reference, tail = x[max(0, start - REFERENCE) : start], x[start:]
    level, after = hodges_lehmann(reference), hodges_lehmann(tail)
    spread = robust_sigma(reference) * math.sqrt(HL_VARIANCE * (1 / tail.size + 1 / reference.size))
    z = (after - level) / spread
    slower = (
        after - level > limit
        and z >= MIN_Z
        and int(np.sum(tail - level > limit)) >= MIN_TAIL  # one bad night is never enough
        and float(x[-1] - level) > limit / 2  # the newest night is still slow: not back yet
    )
    return slower, z, level, after


def _judge(
    x: np.ndarray, commits: list[str], limit: float, acknowledged: Callable[[str], bool]
) -> SeriesCheck:
    n = x.size
    if n < MIN_POINTS:
        return SeriesCheck(CANNOT_TELL, n)
    candidates = []
    start = _l1_start(x)
    if start is not None:
        candidates.append(start)
    candidates.extend(_older_starts(x))
    scored = [(s, *_score(x, s, limit)) for s in candidates]
    start, slower, z, level, after = next((c for c in scored if c[1]), scored[0])
    found = SeriesCheck(
        PASS,
        n,
        [],
        commits[start],
        n - start,
        math.exp(level),
        math.exp(after),
        z,
        previous=commits[start - 1],
    )
    if not slower:
        return found
    if not acknowledged(commits[start]):
        return replace(found, status=REGRESSION)
    # Acknowledged: the slower level is the new normal; a further slowdown after it is new.
    since = _judge(x[start:], commits[start:], limit, acknowledged)
    return since if since.failing else replace(found, status=ACKNOWLEDGED)


def series_verdicts(
    history: pd.DataFrame, threshold: float, acks: Sequence[Acknowledged]
) -> list[tuple[tuple[str, ...], SeriesCheck]]:
    """The nightly verdict of every step-time series of ``history``, in series order."""
    steps = history[history["metric"] == "step_time"]
    out = []
    for key, points in steps.groupby(SERIES, sort=True):
        points = points.sort_values("created_at")
        series = dict(zip(SERIES, map(str, key), strict=True))
        verdict = judge(
            points["value"].to_numpy(dtype=float),
            points["git_commit"].astype(str).tolist(),
            threshold,
            lambda commit, s=series: any(a.covers(s, commit) for a in acks),
        )
        out.append((key, verdict))
    return out
