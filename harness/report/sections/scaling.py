"""Step time against batch size: where each implementation and mode stops being overhead-bound
(a step costs about the same whatever the batch) and becomes compute-bound (time grows with the
batch, FLOP/s approach the machine's peak). Drawn from any runs of one task that differ only in
``batch_size`` (the ``scaling`` suite makes them).

Each point is the median step time of every steady epoch of its runs pooled (the same median as
the headline tables), and the fraction of the peak is read at that median. The knee is read off
those medians: the largest batch whose step time is still under twice the step time at the
smallest batch. Below it, a framework's fixed per-step cost dominates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.record.format import fmt_fraction, fmt_seconds
from harness.report.data import ReportData
from harness.report.data.plot import Plot

KNEE_FACTOR = 2.0


@dataclass
class ScalingView:
    """One machine, task and device swept over batch sizes: its figure and what it shows."""

    machine_id: str
    task: str
    device: str
    batch_sizes: list[int]
    plot: Plot
    sentences: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return self.plot.uri


def knee_batch(line: pd.DataFrame) -> int:
    """The largest batch whose step time is under :data:`KNEE_FACTOR` x the smallest batch's."""
    line = line.sort_values("batch_size")
    limit = KNEE_FACTOR * line["step_s"].iloc[0]
    return int(line[line["step_s"] < limit]["batch_size"].max())


def _sentences(frame: pd.DataFrame) -> list[str]:
    lines = []
    for label, line in frame.groupby("label", sort=True):
        line = line.sort_values("batch_size")
        knee, smallest, largest = knee_batch(line), line.iloc[0], line.iloc[-1]
        text = (
            f"{label}: {fmt_seconds(smallest['step_s'])} per step at batch {smallest['batch_size']}, "
            f"{fmt_seconds(largest['step_s'])} at {largest['batch_size']}; overhead-bound up to batch {knee}"
        )
        if knee == largest["batch_size"]:
            text += " (never compute-bound in this range)"
        peak = line["fraction_of_peak"].max()
        if isinstance(peak, float) and math.isfinite(peak):
            text += f"; at best {fmt_fraction(peak)} of the matmul peak"
        lines.append(text + ".")
    return lines


def scaling_views(sweeps: dict[tuple[str, str, str], pd.DataFrame]) -> list[ScalingView]:
    """A figure and sentences per machine, task and device swept over batch sizes
    (:func:`harness.report.data.scaling.scaling_frame`)."""
    views = []
    for (machine_id, task, device), frame in sorted(sweeps.items()):
        plot = Plot("scaling", {"frame": frame}, sorted(frame["impl"].unique()))
        sizes = sorted(int(b) for b in frame["batch_size"].unique())
        views.append(ScalingView(machine_id, task, device, sizes, plot, _sentences(frame)))
    return views


PART = "scaling"  # its template: harness/report/render/templates/parts/scaling.html.j2


def build(data: ReportData) -> dict[str, Any]:
    """The section's view: the names its template part reads, from the report's data."""
    return {"scaling": scaling_views(data.scaling)}
