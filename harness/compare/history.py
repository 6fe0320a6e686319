"""Headline metrics over commits and dates, as a tidy DataFrame for the report's history plot."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import pandas as pd

from harness.compare import stats
from harness.compare.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, bootstrap_runs
from harness.record.derived import pooled
from harness.record.digest import Digest, digest
from harness.record.schema import RunRecord

COLUMNS = (
    "machine_id", "cpu_model", "task", "impl", "mode", "device", "config_key", "git_commit",
    "created_at", "metric", "statistic", "unit", "value", "ci_low", "ci_high", "n_runs",
)  # fmt: skip
_HEADLINE = (
    ("step_time", "median", "s"),
    ("throughput", "median", "samples/s"),
    ("test_accuracy", "mean", ""),
)


def _group_key(d: Digest) -> tuple[str, ...]:
    return (d.machine_id, d.cpu_model, d.task, d.impl, d.mode, d.device, d.config_key, d.git_commit)


def _timing_row(
    runs: list[list[float]], statistic: str, confidence: float, intervals: bool = True
) -> tuple[float, float, float]:
    value = pooled(runs, statistic)
    if not intervals:
        return value, float("nan"), float("nan")
    draws = bootstrap_runs(
        [np.asarray(r) for r in runs], statistic, DEFAULT_RESAMPLES, np.random.default_rng(0)
    )
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(draws, [alpha, 1.0 - alpha])
    return value, float(low), float(high)


def _metric_row(
    digests: list[Digest], metric: str, statistic: str, confidence: float, intervals: bool = True
) -> tuple[float, ...]:
    runs = [s for d in digests if (s := d.samples[metric])]
    if not runs:
        return (float("nan"),) * 3
    if metric == "test_accuracy":
        values = [v for run in runs for v in run]
        if not intervals:
            return float(np.mean(values)), float("nan"), float("nan")
        return stats.mean_ci(values, confidence)
    return _timing_row(runs, statistic, confidence, intervals)


def _newest_commits(groups: dict[tuple[str, ...], list[Digest]], n: int) -> set[tuple[str, str]]:
    """(machine, commit) of each machine's newest ``n`` commits, by their first run."""
    first: dict[tuple[str, str], str] = {}
    for key, group in groups.items():
        at = min(d.created_at for d in group)
        mc = (key[0], key[-1])
        first[mc] = min(first.get(mc, at), at)
    per_machine: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for (machine, commit), at in first.items():
        per_machine[machine].append((at, commit))
    return {(m, c) for m, found in per_machine.items() for _, c in sorted(found)[-n:]}


def history_frame(
    records: Iterable[RunRecord | Digest],
    confidence: float = DEFAULT_CONFIDENCE,
    intervals: bool = True,
    interval_commits: int | None = None,
) -> pd.DataFrame:
    """Headline metrics of ``ok`` runs, one row per (group, metric), sorted by ``created_at``;
    from records or from their digests (:mod:`harness.record.digest`: the same rows).

    A group is the runs of one (machine, task, impl, mode, device, config, git commit): seeds and
    repeated invocations at the same commit are pooled. Columns:

    - ``machine_id``, ``cpu_model``: where it ran (compare only within one ``machine_id``);
    - ``task``, ``impl``, ``mode``, ``device``, ``config_key`` (spec JSON without the seed);
    - ``git_commit`` (may end in ``+dirty``); ``created_at``: the group's earliest run, a UTC
      ``pandas.Timestamp``;
    - ``metric``: ``step_time`` (unit ``s``, steady-state epoch seconds / steps per epoch),
      ``throughput`` (``samples/s``, training samples / epoch seconds) or ``test_accuracy``;
    - ``statistic``: ``median`` for the timings (of every epoch of every run pooled), ``mean``
      for accuracy (over seeds); ``unit``;
    - ``value``, ``ci_low``, ``ci_high``: the statistic and its ``confidence`` interval
      (hierarchical bootstrap for timings, Student t over seeds for accuracy; NaN when absent,
      and for the timings when ``intervals`` is off: the nightly check needs the values only, or
      outside each machine's newest ``interval_commits`` commits: a year of nights is drawn as
      a line, its newest points with their intervals);
    - ``n_runs``: how many ``ok`` runs the group pooled.
    """
    groups: dict[tuple[str, ...], list[Digest]] = defaultdict(list)
    for record in records:
        d = record if isinstance(record, Digest) else digest(record)
        if d.status == "ok" and not d.twin:
            groups[_group_key(d)].append(d)
    newest = _newest_commits(groups, interval_commits) if interval_commits is not None else None
    rows = []
    for key, group in groups.items():
        created_at = min(r.created_at for r in group)
        with_interval = intervals and (newest is None or (key[0], key[-1]) in newest)
        for metric, statistic, unit in _HEADLINE:
            value, low, high = _metric_row(group, metric, statistic, confidence, with_interval)
            rows.append((*key, created_at, metric, statistic, unit, value, low, high, len(group)))
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True, format="ISO8601")
    return frame.sort_values(["created_at", "task", "impl", "metric"], ignore_index=True)
