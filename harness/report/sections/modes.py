"""The execution-modes table: each implementation in each of its modes, against its own default
mode and against the fastest run of the section, with what a compiled mode costs up front.

For a mode ``m`` of an implementation whose default mode is ``d`` (medians over seeds):

- compile overhead: ``first_epoch_s - steady_epoch_s``, the one-off cost of tracing/compiling,
  from runs whose worker process ran nothing before (a worker that compiled other runs may serve
  this one from its caches: the overhead is then "not measured", never a misleading 0);
- break-even steps: how many training steps until ``m``'s larger up-front cost is paid back by
  its faster steps, ``(overhead_m - overhead_d) / (step_d - step_m)``; ``0`` when ``m`` costs no
  more up front, ``never`` when its steps are not faster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.record.derived import fmt_fraction, fmt_seconds, is_number
from harness.report.data import ReportData
from harness.report.data.paired import PairedIndex, step_ratio, unpaired_mark
from harness.report.data.summary import sections


@dataclass
class ModesView:
    """One machine, task, variant and device with more than one mode of some implementation."""

    machine_id: str
    task: str
    variant: str
    device: str
    rows: list[dict[str, Any]]
    sentences: list[str] = field(default_factory=list)


NOT_MEASURED = "not measured (no run in a fresh worker: its worker had compiled others)"


def break_even_steps(
    step_s: float, overhead_s: float, default_step_s: float, default_overhead_s: float
) -> float:
    """Training steps until a mode's extra up-front cost is repaid (``inf``: never, 0: at once)."""
    extra = overhead_s - default_overhead_s
    if extra <= 0:
        return 0.0
    saving = default_step_s - step_s
    return extra / saving if saving > 0 else math.inf


def _overhead(row: pd.Series) -> float:
    """First epoch over a steady one, from runs in a fresh worker only (one that compiled other
    runs before may have served this one's compilation from its caches): NaN when none was."""
    first, steady = row.get("fresh_first_epoch_s"), row.get("steady_epoch_s")
    return max(0.0, first - steady) if is_number(first) and is_number(steady) else math.nan


def _step_ratio(paired: PairedIndex | None, base: pd.Series, row: pd.Series) -> tuple[float, str]:
    value, found = step_ratio(paired, base, row)
    return value, "" if found is not None else unpaired_mark(paired, base, row)


def _row(
    stat: pd.Series, default: pd.Series | None, fastest: pd.Series, paired: PairedIndex | None
) -> dict[str, Any]:
    step, overhead = stat["step_s"], _overhead(stat)
    vs_fastest, mark = _step_ratio(paired, fastest, stat) if is_number(step) else (math.nan, "")
    out = {
        "impl": stat["impl"],
        "mode": stat["mode"],
        "step_s": step,
        "step": fmt_seconds(step),
        "vs_default": "",
        "vs_fastest": f"{vs_fastest:.2f}×{mark}" if is_number(vs_fastest) else "—",
        "fastest": is_number(step) and step == fastest["step_s"],
        "of_peak": fmt_fraction(stat["fraction_of_peak"]) if is_number(stat.get("fraction_of_peak")) else "—",
        "overhead": fmt_seconds(overhead) if is_number(overhead) else NOT_MEASURED,
        "break_even": "",
        "runs": f"{stat['n_ok']}/{stat['n_runs']}",
    }
    if (
        default is not None
        and stat["mode"] != default["mode"]
        and is_number(step)
        and is_number(default["step_s"])
    ):
        ratio, mark = _step_ratio(paired, default, stat)
        out["vs_default"] = f"{1 / ratio:.2f}× faster{mark}" if ratio < 1 else f"{ratio:.2f}× slower{mark}"
        steps = break_even_steps(step, overhead, default["step_s"], _overhead(default))
        if is_number(overhead) and is_number(_overhead(default)):
            out["break_even"] = "never" if math.isinf(steps) else f"{steps:,.0f}"
    return out


def _sentences(part: pd.DataFrame, fastest: pd.Series, paired: PairedIndex | None) -> list[str]:
    lines = []
    for impl, group in part.groupby("impl", sort=True):
        timed = group[group["step_s"].map(is_number)]
        if timed.empty or len(group) < 2:
            continue
        best = timed.loc[timed["step_s"].idxmin()]
        default = timed[timed["mode"] == "default"]
        gain = ""
        if len(default) and best["mode"] != "default":
            ratio, mark = _step_ratio(paired, best, default.iloc[0])
            gain = f", {ratio:.2f}× faster than its default{mark}"
        to_fastest, mark = _step_ratio(paired, fastest, best)
        lines.append(
            f"{impl}: fastest in mode '{best['mode']}' ({fmt_seconds(best['step_s'])} per step{gain}), "
            f"{to_fastest:.2f}× the fastest run here{mark} ({fastest['impl']} [{fastest['mode']}])."
        )
    return lines


def modes_views(stats: pd.DataFrame, paired: PairedIndex | None = None) -> list[ModesView]:
    """A view per section and device where some implementation ran in more than one mode; ratios
    paired per round where the runs were interleaved."""
    views = []
    for (machine_id, task, variant), part in sections(stats):
        for device, on_device in part.groupby("device", sort=True):
            if on_device.groupby("impl")["mode"].nunique().max() < 2:
                continue
            timed = on_device[on_device["step_s"].map(is_number)]
            if timed.empty:
                continue
            fastest = timed.loc[timed["step_s"].idxmin()]
            rows = []
            for _, group in on_device.groupby("impl", sort=True):
                group = group.assign(_other=group["mode"] != "default").sort_values(["_other", "mode"])
                default = group.iloc[0] if group["mode"].iloc[0] == "default" else None
                rows += [_row(stat, default, fastest, paired) for _, stat in group.iterrows()]
            sentences = _sentences(on_device, fastest, paired)
            views.append(ModesView(machine_id, task, variant, device, rows, sentences))
    return views


PART = "modes"  # its template: harness/report/render/templates/parts/modes.html.j2


def build(data: ReportData) -> dict[str, Any]:
    """The section's view: the names its template part reads, from the report's data."""
    return {"modes": modes_views(data.stats, data.paired)}
