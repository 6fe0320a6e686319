"""The execution-modes table: each implementation in each of its modes, against its own default
mode and against the fastest run of the section, with what a compiled mode costs up front.

For a mode ``m`` of an implementation whose default mode is ``d`` (medians over seeds):

- compile overhead: ``first_epoch_s - steady_epoch_s``, the one-off cost of tracing/compiling,
  from runs whose worker process ran nothing before (a worker that compiled other runs may serve
  this one from its caches: the overhead is then "not measured", never a misleading 0);
- break-even steps: how many training steps until ``m``'s larger up-front cost is paid back by
  its faster steps, ``(overhead_m - overhead_d) / (step_d - step_m)``; ``0`` when ``m`` costs no
  more up front, ``never`` when its steps are not faster.

Like with like: a fast path usually runs fewer seeds than the default (the default suite: one),
and its paired ratio pairs only the rounds of those seeds, so the default's step time shown beside
it, and used for the break-even, is the median of the default's epochs of the same seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.record.derived import median
from harness.record.format import fmt_fraction, fmt_seconds, is_number
from harness.report.data import ReportData
from harness.report.data.frame import KEY
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


NOT_MEASURED = "not measured"  # no run in a fresh worker: its worker had compiled others (the note says)


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


def same_seeds_step_s(epochs: pd.DataFrame, default: pd.Series, seeds: set[int]) -> float:
    """The median step time of ``default``'s steady epochs of ``seeds`` only (NaN when none)."""
    if epochs.empty:
        return math.nan
    mine = epochs[(epochs[KEY] == pd.Series({k: default[k] for k in KEY})).all(axis=1)]
    return median(mine.loc[mine["seed"].isin(seeds), "step_s"].tolist())


def _row(
    stat: pd.Series,
    default: pd.Series | None,
    fastest: pd.Series,
    paired: PairedIndex | None,
    epochs: pd.DataFrame | None = None,
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
        "overhead": fmt_seconds(overhead)
        if is_number(overhead)
        else NOT_MEASURED
        if is_number(step)
        else "—",
        "break_even": "",
        "default_step": "",
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
        seeds = set(stat.get("seeds") or [])
        same = same_seeds_step_s(epochs, default, seeds) if epochs is not None and seeds else math.nan
        base_step = same if is_number(same) else default["step_s"]
        out["default_step_s"] = base_step
        out["default_step"] = fmt_seconds(base_step) + (
            f" (seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, sorted(seeds)))})"
            if is_number(same)
            else ""
        )
        steps = break_even_steps(step, overhead, base_step, _overhead(default))
        if is_number(overhead) and is_number(_overhead(default)):
            out["break_even"] = "never" if math.isinf(steps) else f"{steps:,.0f}"
    return out


def _sentences(rows: list[dict[str, Any]], fastest: pd.Series, paired: PairedIndex | None,
               part: pd.DataFrame) -> list[str]:  # fmt: skip
    """Per implementation with several modes: its fastest mode, against its default on the same
    seeds (the row's own figures) and against the fastest run of the section."""
    lines = []
    for impl, group in part.groupby("impl", sort=True):
        timed = group[group["step_s"].map(is_number)]
        if timed.empty or len(group) < 2:
            continue
        best = timed.loc[timed["step_s"].idxmin()]
        row = next(r for r in rows if r["impl"] == impl and r["mode"] == best["mode"])
        gain = ""
        if best["mode"] != "default" and row["vs_default"]:
            gain = f"; its default takes {row['default_step']} on the same seeds: {row['vs_default']}"
        head = f"{impl}: fastest in mode '{best['mode']}' ({fmt_seconds(best['step_s'])} per step{gain})"
        if (best["impl"], best["mode"]) == (fastest["impl"], fastest["mode"]):
            lines.append(f"{head}: the fastest run here.")
            continue
        to_fastest, mark = _step_ratio(paired, fastest, best)
        who = f"{fastest['impl']} [{fastest['mode']}]"
        lines.append(f"{head}; {to_fastest:.2f}× the fastest run here{mark} ({who}).")
    return lines


def modes_views(
    stats: pd.DataFrame, paired: PairedIndex | None = None, epochs: pd.DataFrame | None = None
) -> list[ModesView]:
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
                rows += [_row(stat, default, fastest, paired, epochs) for _, stat in group.iterrows()]
            sentences = _sentences(rows, fastest, paired, on_device)
            views.append(ModesView(machine_id, task, variant, device, rows, sentences))
    return views


PART = "modes"  # its template: harness/report/render/templates/parts/modes.html.j2


def build(data: ReportData) -> dict[str, Any]:
    """The section's view: the names its template part reads, from the report's data."""
    return {"modes": modes_views(data.stats, data.paired, data.frames.epochs)}
