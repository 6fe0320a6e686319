"""The nightly regression check (``python -m harness history --check``): is each machine's
series slower now than it was, beyond the threshold and beyond its own noise?

Change points (:mod:`harness.compare.changes`) say where a series moved, in hindsight; a nightly
job needs another answer, every night: *is the newest level a regression against the level
before it*. Measured on 40 nights with 3% noise and a 15% slowdown in the last k nights, the
change-point check never failed (no change point for k <= 3; from k = 4 the change was no longer
among the ``--recent`` newest points). This check, per series (one point per commit, in time
order, log values):

- every candidate start ``s`` of a trailing level (the newest ``n - s >= 2`` points) is scored
  against the reference before it (up to :data:`REFERENCE` points): the excess of the tail's
  median over the reference's median, in units of the reference's own noise (its median absolute
  deviation about its median, scaled to a standard deviation, floored at :data:`MIN_SIGMA`: a
  series of repeated or quantised values does not make every wiggle significant);
- the best-scoring start is the change; it is a **regression** when the tail's median is slower
  than the reference by more than the threshold, its score is at least :data:`MIN_Z`, and each of
  the newest two nights is slower than the reference by more than half the threshold. So one bad
  night never fails (it takes two in a row; a lone outlier in the reference moves neither the
  reference's median nor the blamed commit), a regression fails from its second night and on every
  night after, and the check turns green on the first night the level is back;
- a regression whose first commit is listed in the acknowledgement file kept with the results
  (:mod:`harness.store.acknowledged`) is reported, not failed; a later, further slowdown is new;
- points that are not positive and finite are dropped, counted and named; a series with fewer
  than :data:`MIN_POINTS` usable points cannot be judged (``short``: "cannot tell").

Measured by ``tests/compare/test_nightly.py`` on synthetic nights (3% noise, 15% step): failing on
every one of nights 2..8 after the step in all of 200 series, never on a same-level series of 40
nights (0 of 200), never on one bad night.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from harness.compare.changes import change_points

MIN_SIGMA = 0.01  # 1% of the level: below it a noise estimate from a handful of nights is luck
MIN_Z = 3.0
REFERENCE = 20  # nights of the level before a change that it is judged against
WINDOW = 60  # newest nights searched for where a trailing level starts
MIN_REFERENCE = 3
MIN_TAIL = 2
MIN_POINTS = MIN_REFERENCE + MIN_TAIL
# The standard deviation of a median of m normal samples is about sqrt(pi / 2 / m) sigma.
_MEDIAN_VARIANCE = math.pi / 2

PASS, REGRESSION, ACKNOWLEDGED, SHORT = "pass", "regression", "acknowledged", "short"


@dataclass(frozen=True)
class Verdict:
    """One series, tonight: ``status`` (:data:`PASS`, :data:`REGRESSION`, :data:`ACKNOWLEDGED`,
    :data:`SHORT`) and, when a trailing level was scored, where it starts and how much slower."""

    status: str
    points: int
    dropped: list[str] = field(default_factory=list)  # commits whose point was not usable
    commit: str = ""  # the first commit of the slower level
    nights: int = 0  # how many of the newest nights it spans
    before: float = math.nan  # the reference level (median, in the series' unit)
    after: float = math.nan  # the trailing level (median)
    z: float = math.nan

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
) -> Verdict:
    """The verdict on one series (``values`` in time order, one per commit)."""
    raw = np.asarray(values, dtype=float)
    usable = np.isfinite(raw) & (raw > 0)
    dropped = [str(c) for c, ok in zip(commits, usable, strict=True) if not ok]
    kept = [str(c) for c, ok in zip(commits, usable, strict=True) if ok]
    verdict = _judge(np.log(raw[usable]), kept, math.log1p(threshold), acknowledged)
    verdict.dropped.extend(dropped)
    return verdict


def _l1_start(x: np.ndarray) -> int | None:
    """Where, in the newest :data:`WINDOW` points, a trailing level best starts: the start that
    minimises the absolute deviation of a two-level fit (median before, median after)."""
    n = x.size
    first = max(0, n - WINDOW)
    best: tuple[float, int] | None = None
    for start in range(first + MIN_REFERENCE, n - MIN_TAIL + 1):
        before, after = x[first:start], x[start:]
        cost = float(np.abs(before - np.median(before)).sum() + np.abs(after - np.median(after)).sum())
        if best is None or cost < best[0]:
            best = (cost, start)
    return best[1] if best else None


def _score(x: np.ndarray, start: int, limit: float) -> tuple[bool, float, float, float]:
    """Whether the level from ``start`` on is a regression against the reference before it; its
    z score, and the two levels (log medians)."""
    reference, tail = x[max(0, start - REFERENCE) : start], x[start:]
    level, after = float(np.median(reference)), float(np.median(tail))
    spread = robust_sigma(reference) * math.sqrt(_MEDIAN_VARIANCE * (1 / tail.size + 1 / reference.size))
    z = (after - level) / spread
    slower = (
        after - level > limit
        and z >= MIN_Z
        and int(np.sum(tail - level > limit)) >= MIN_TAIL  # one bad night is never enough
        and float(x[-1] - level) > limit / 2  # the newest night is still slow: not back yet
    )
    return slower, z, level, after


def _judge(x: np.ndarray, commits: list[str], limit: float, acknowledged: Callable[[str], bool]) -> Verdict:
    n = x.size
    if n < MIN_POINTS:
        return Verdict(SHORT, n)
    candidates = []
    start = _l1_start(x)
    if start is not None:
        candidates.append(start)
    cuts = [c for c in change_points(np.exp(x)) if MIN_REFERENCE <= c <= n - MIN_TAIL]
    if cuts:  # a change older than the window still counts until the level returns
        candidates.append(cuts[-1])
    scored = [(s, *_score(x, s, limit)) for s in candidates]
    start, slower, z, level, after = next((c for c in scored if c[1]), scored[0])
    found = Verdict(PASS, n, [], commits[start], n - start, math.exp(level), math.exp(after), z)
    if not slower:
        return found
    if not acknowledged(commits[start]):
        return replace(found, status=REGRESSION)
    # Acknowledged: the slower level is the new normal; a further slowdown after it is new.
    since = _judge(x[start:], commits[start:], limit, acknowledged)
    return since if since.failing else replace(found, status=ACKNOWLEDGED)
