"""Where a step's time goes, and a network the bench never ran predicted: per implementation, mode
and device, ``time per step = dispatch_s + flops_per_step * flop_s`` (a fixed cost per step, then
the arithmetic) and an epoch overhead apart, fitted from a run set's records with intervals.

Each network a run set trained is a point: its training FLOPs per step and the median of its runs'
step samples (pooled over seeds). The line is fitted on relative error (:func:`harness.plan.costs.
linear_fit`, neither term below zero). Its interval is a bootstrap: each point's samples resampled,
the line refitted, the prediction taken at the network asked for; and since a line through few
points can miss them all by more than their noise, the interval is widened by the fit's own
root-mean-square relative error. A crossover is where two implementations' lines meet: below it
one is faster, above it the other.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from harness.plan.costs import Key, linear_fit, record_flops_per_step, usable
from harness.record import derived
from harness.record.schema import RunRecord

RESAMPLES = 400
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Point:
    """One network a run set trained: its FLOPs per step, its step samples, where it came from."""

    flops_per_step: float
    steps_s: tuple[float, ...]
    label: str  # the task (and what differs from its default), for the page
    hidden_layers: int = 0  # the network's depth ...
    batch_size: int = 0  # ... and batch: what a prediction elsewhere is told it leaves (predict)

    @property
    def median_s(self) -> float:
        return float(np.median(self.steps_s))


@dataclass
class StepFit:
    """One implementation's line through its points, with what is needed for intervals."""

    key: Key
    dispatch_s: float
    flop_s: float
    overhead_s: float
    points: list[Point] = field(default_factory=list)
    draws: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # bootstrap (dispatch, flop)
    rms: float = 0.0  # root-mean-square relative error of the line at its points

    @property
    def fitted(self) -> bool:
        """Two network sizes or more: a line, not a point."""
        return len({p.flops_per_step for p in self.points}) >= 2

    @property
    def rate_flops_per_s(self) -> float:
        return 1.0 / self.flop_s if self.flop_s > 0 else math.inf

    def step_s(self, flops_per_step: float) -> float:
        return self.dispatch_s + flops_per_step * self.flop_s

    def interval(self, flops_per_step: float) -> tuple[float, float]:
        """The prediction's interval at ``flops_per_step`` (see the module docstring)."""
        if not len(self.draws):
            return (math.nan, math.nan)
        predictions = self.draws[:, 0] + flops_per_step * self.draws[:, 1]
        alpha = (1 - CONFIDENCE) / 2
        low, high = np.quantile(predictions, [alpha, 1 - alpha])
        return float(low * (1 - self.rms)), float(high * (1 + self.rms))


def points(records: Iterable[RunRecord]) -> dict[Key, list[Point]]:
    """Each implementation's points: one per network (FLOPs per step) its usable records trained."""
    pooled: dict[Key, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    shapes: dict[tuple[Key, float], tuple[str, int, int]] = {}
    for record in usable(records):
        key = (record.impl, record.mode, record.device)
        flops = record_flops_per_step(record)
        pooled[key][flops] += derived.step_samples_s(record)
        config = record.config or {}
        shapes[(key, flops)] = (record.task, len(config.get("hidden", ())), int(config.get("batch_size", 0)))
    return {
        key: sorted(
            (Point(f, tuple(s), *shapes[(key, f)]) for f, s in found.items()), key=lambda p: p.flops_per_step
        )
        for key, found in pooled.items()
    }


def _overheads(records: Iterable[RunRecord]) -> dict[Key, float]:
    found: dict[Key, list[float]] = defaultdict(list)
    for record in usable(records):
        found[(record.impl, record.mode, record.device)] += derived.epoch_overheads_s(record)
    return {key: derived.median(values) for key, values in found.items()}


def fit(records: Iterable[RunRecord], resamples: int = RESAMPLES, seed: int = 0) -> dict[Key, StepFit]:
    """Every implementation's :class:`StepFit` from ``records`` (a run set)."""
    records = list(records)
    rng = np.random.default_rng(seed)
    overheads = _overheads(records)
    out = {}
    for key, found in points(records).items():
        dispatch, flop = linear_fit((p.flops_per_step, p.median_s) for p in found)
        model = StepFit(key, dispatch, flop, overheads.get(key, math.nan), found)
        if model.fitted:
            residuals = [model.step_s(p.flops_per_step) / p.median_s - 1 for p in found]
            model.rms = float(np.sqrt(np.mean(np.square(residuals))))
            draws = []
            for _ in range(resamples):
                resampled = [
                    (p.flops_per_step, float(np.median(rng.choice(p.steps_s, len(p.steps_s))))) for p in found
                ]
                draws.append(linear_fit(resampled))
            model.draws = np.array(draws)
        out[key] = model
    return out


def crossover(a: StepFit, b: StepFit) -> float | None:
    """The FLOPs per step where ``a``'s and ``b``'s lines meet (``None``: they do not, at a
    positive size)."""
    slope = a.flop_s - b.flop_s
    if slope == 0:
        return None
    flops = (b.dispatch_s - a.dispatch_s) / slope
    return flops if flops > 0 else None
