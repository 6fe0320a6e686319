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

import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.record.derived import achieved_flops_per_s, fmt_fraction, fmt_seconds, median, pooled
from harness.report.data import ReportData
from harness.report.data.plot import Plot

IGNORED = {"batch_size", "seed", "epochs", "target_val_accuracy"}
MIN_BATCH_SIZES = 3
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


def _sweep_key(run: pd.Series) -> str:
    return json.dumps(
        {k: v for k, v in run["config"].items() if k not in IGNORED}, sort_keys=True, default=str
    )


def _point(runs: pd.DataFrame) -> dict[str, Any]:
    """One label at one batch size: pooled median step time, and the fraction of peak there."""
    first = runs.iloc[0]
    step = pooled(runs["step_samples_s"])
    flops = achieved_flops_per_s(
        first["train_flops_per_sample"], first["n_train"], first["steps_per_epoch"], step
    )
    return {
        "label": first["label"],
        "impl": first["impl"],
        "mode": first["mode"],
        "batch_size": int(first["config"]["batch_size"]),
        "step_s": step,
        "fraction_of_peak": flops / median(runs["peak_flops_per_s"]),
    }


def scaling_frame(runs: pd.DataFrame) -> dict[tuple[str, str, str], pd.DataFrame]:
    """Per (machine, task, device): median step time and fraction of peak per label and batch
    size, for the largest group of ok runs that differ only in batch size (at least three)."""
    if runs.empty:
        return {}
    ok = runs[(runs["status"] == "ok") & runs["step_samples_s"].map(bool)]
    ok = ok[ok["config"].map(lambda c: bool(c.get("batch_size")))]
    best: dict[tuple[str, str, str], pd.DataFrame] = {}
    if ok.empty:
        return best
    ok = ok.assign(_sweep=ok.apply(_sweep_key, axis=1), _batch=ok["config"].map(lambda c: c["batch_size"]))
    for (machine_id, task, device, _), group in ok.groupby(["machine_id", "task", "device", "_sweep"]):
        if group["_batch"].nunique() < MIN_BATCH_SIZES:
            continue
        frame = pd.DataFrame([_point(part) for _, part in group.groupby(["label", "_batch"], sort=True)])
        key = (machine_id, task, device)
        if key not in best or frame["batch_size"].nunique() > best[key]["batch_size"].nunique():
            best[key] = frame
    return best


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


def scaling_views(runs: pd.DataFrame) -> list[ScalingView]:
    """A figure and sentences per machine, task and device swept over batch sizes."""
    views = []
    for (machine_id, task, device), frame in sorted(scaling_frame(runs).items()):
        plot = Plot("scaling", {"frame": frame}, sorted(frame["impl"].unique()))
        sizes = sorted(int(b) for b in frame["batch_size"].unique())
        views.append(ScalingView(machine_id, task, device, sizes, plot, _sentences(frame)))
    return views


PART = "scaling"  # its template: harness/report/render/templates/parts/scaling.html.j2


def build(data: ReportData) -> dict[str, Any]:
    """The section's view: the names its template part reads, from the report's data."""
    return {"scaling": scaling_views(data.frames.runs)}
