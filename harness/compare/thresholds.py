"""Regression thresholds: what each compared metric means and how ``--fail`` specs are read.

A spec names a metric, optionally a statistic, and a limit (pytest-benchmark's form)::

    step_time:median:10%      steady-state seconds per step; fail if >10% slower
    throughput:median:10%     training samples per second; fail if >10% lower
    first_epoch:median:25%    first epoch (includes tracing/compilation); fail if >25% slower
    peak_memory:max:20%       peak resident memory of the run; fail if >20% higher
    test_accuracy:-0.01       mean test accuracy over seeds; fail if it drops by more than 0.01

Ratio metrics take a percentage; ``test_accuracy`` takes an absolute drop (``-0.01`` or
``-1%``, i.e. one percentage point). Nothing here knows about records: :mod:`harness.record.derived`
extracts the samples and :mod:`harness.compare.check` applies the limits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from harness.errors import ThresholdError

STATISTICS = ("median", "mean", "min", "max")


@dataclass(frozen=True)
class Metric:
    """One compared quantity. ``kind`` is ``ratio`` (current/baseline) or ``difference``."""

    name: str
    label: str
    unit: str
    higher_is_better: bool
    kind: str
    default_statistic: str


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("step_time", "step time", "s", False, "ratio", "median"),
        Metric("throughput", "throughput", "samples/s", True, "ratio", "median"),
        Metric("first_epoch", "first epoch", "s", False, "ratio", "median"),
        Metric("peak_memory", "peak memory", "bytes", False, "ratio", "max"),
        Metric("test_accuracy", "test accuracy", "", True, "difference", "mean"),
    )
}


@dataclass(frozen=True)
class Threshold:
    """A limit on one metric: ``limit`` is a fraction (ratio metrics) or an absolute drop (> 0)."""

    metric: str
    statistic: str
    limit: float

    @property
    def spec(self) -> str:
        """The canonical text form, e.g. ``step_time:median:10%`` or ``test_accuracy:-0.01``."""
        if METRICS[self.metric].kind == "difference":
            return f"{self.metric}:-{self.limit:g}"
        return f"{self.metric}:{self.statistic}:{self.limit * 100:g}%"

    def describe(self) -> str:
        """Plain words, e.g. ``step time (median) more than 10% worse``."""
        metric = METRICS[self.metric]
        if metric.kind == "difference":
            return f"{metric.label} (mean over seeds) drops by more than {self.limit:g}"
        return f"{metric.label} ({self.statistic}) more than {self.limit * 100:g}% worse"


DEFAULT_SPECS = ("step_time:median:10%", "test_accuracy:-0.01")

_FORMS = (
    "valid forms: METRIC:STATISTIC:PERCENT% or METRIC:PERCENT% for "
    + ", ".join(n for n, m in METRICS.items() if m.kind == "ratio")
    + f" (STATISTIC one of {', '.join(STATISTICS)}), and test_accuracy:-DROP "
    "(e.g. step_time:median:10%, peak_memory:max:20%, test_accuracy:-0.01)"
)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?%?$", re.IGNORECASE)


def parse_threshold(spec: str) -> Threshold:
    """Read one spec; raises :class:`ThresholdError` naming the valid metrics and forms."""
    parts = [p.strip() for p in str(spec).strip().split(":")]
    name = parts[0].lower()
    if name not in METRICS:
        raise ThresholdError(
            f"unknown metric {parts[0]!r} in {spec!r}; metrics: {', '.join(METRICS)}; {_FORMS}"
        )
    metric = METRICS[name]
    if len(parts) not in (2, 3):
        raise ThresholdError(f"{spec!r} should have 2 or 3 ':'-separated parts; {_FORMS}")
    statistic = parts[1].lower() if len(parts) == 3 else metric.default_statistic
    if statistic not in STATISTICS or (metric.kind == "difference" and statistic != "mean"):
        allowed = "mean" if metric.kind == "difference" else ", ".join(STATISTICS)
        raise ThresholdError(f"statistic {statistic!r} in {spec!r} is not one of {allowed}; {_FORMS}")
    return Threshold(name, statistic, _parse_limit(spec, parts[-1], metric))


def _parse_limit(spec: str, text: str, metric: Metric) -> float:
    if not _NUMBER.match(text):
        raise ThresholdError(f"limit {text!r} in {spec!r} is not a number; {_FORMS}")
    percent = text.endswith("%")
    value = abs(float(text.rstrip("%")))
    if metric.kind == "ratio":
        if not percent:
            raise ThresholdError(f"limit {text!r} in {spec!r} needs a '%' (e.g. 10%); {_FORMS}")
        return value / 100.0
    value = value / 100.0 if percent else value
    if value >= 1.0:
        raise ThresholdError(
            f"accuracy drop {text!r} in {spec!r} must be below 1 (accuracy is 0..1); {_FORMS}"
        )
    return value


def parse_thresholds(specs: Iterable[str] | None) -> list[Threshold]:
    """All specs (``None``: :data:`DEFAULT_SPECS`); a later spec for the same metric+statistic wins."""
    chosen: dict[tuple[str, str], Threshold] = {}
    for spec in DEFAULT_SPECS if specs is None else specs:
        threshold = parse_threshold(spec)
        chosen[(threshold.metric, threshold.statistic)] = threshold
    if not chosen:
        raise ThresholdError(f"no threshold given; {_FORMS}")
    return list(chosen.values())
