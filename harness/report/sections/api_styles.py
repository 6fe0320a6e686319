"""The API styles section: what the convenience of a high-level API costs, and what a framework
buys over plain numpy.

Per machine, task, variant and device, implementations are grouped by engine (the framework whose
kernels run): the low-level implementation on that engine (``torch``, ``tensorflow``, ``jax``)
beside the high-level ones on the same engine (``lightning``, ``keras-torch``; ``keras``; ``flax``,
``keras-jax``), each in its ``default`` mode, and below them the numpy network written by hand
(API ``by-hand``), the floor. For each: step time and its paired ratio to the group's low-level
implementation (per round, where they were interleaved), time to the target accuracy, the first
epoch's cost (compilation), test accuracy, and the lines of code of its implementation file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.record.format import fmt_percent, fmt_seconds, is_number
from harness.report.data import ReportData
from harness.report.data.paired import PairedIndex, step_ratio, unpaired_mark
from harness.report.data.summary import sections

LOW, HIGH, BY_HAND = "low-level", "high-level", "by-hand"


@dataclass
class StylesView:
    """One machine, task, variant and device: a table of engine groups and the sentences."""

    machine_id: str
    task: str
    variant: str
    device: str
    rows: list[dict[str, Any]]
    sentences: list[str] = field(default_factory=list)


def _ratio(paired: PairedIndex | None, base: pd.Series, row: pd.Series) -> tuple[float, str]:
    """The ratio and how it reads: with its interval where paired, marked unpaired otherwise."""
    value, found = step_ratio(paired, base, row)
    if found is None:
        return value, f"{value:.2f}×{unpaired_mark(paired, base, row)}"
    return value, f"{found.estimate:.2f}× [{found.low:.2f}–{found.high:.2f}]"


def _row(stat: pd.Series, role: str, base: pd.Series | None, paired: PairedIndex | None) -> dict[str, Any]:
    versus = ""
    if base is not None and stat is not base and is_number(stat["step_s"]) and is_number(base["step_s"]):
        versus = _ratio(paired, base, stat)[1]
    return {
        "engine": stat["engine"],
        "role": role,
        "label": stat["label"],
        "api": stat["api"],
        "step": fmt_seconds(stat["step_s"]),
        "versus": versus,
        "to_target": fmt_seconds(stat["time_to_target_s"])
        if is_number(stat["time_to_target_s"])
        else "not reached",
        "first_epoch": fmt_seconds(stat["first_epoch_s"]),
        "accuracy": fmt_percent(stat["test_accuracy"]) if is_number(stat["test_accuracy"]) else "—",
        "lines": f"{stat['code_lines']:.0f}" if is_number(stat["code_lines"]) else "—",
    }


def _cost_sentence(low: pd.Series, high: pd.Series, paired: PairedIndex | None) -> str:
    ratio, text = _ratio(paired, low, high)
    extra = high["step_s"] - low["step_s"]
    verb = "costs" if extra >= 0 else "saves"
    return (
        f"{high['label']} {verb} {fmt_seconds(abs(extra))} per step against the plain {low['label']} loop on "
        f"the same engine ({text} its step time); its first epoch takes {fmt_seconds(high['first_epoch_s'])} "
        f"against {fmt_seconds(low['first_epoch_s'])}."
    )


def _floor_sentence(floor: pd.Series, lows: list[pd.Series], paired: PairedIndex | None) -> str:
    parts = [f"{low['label']} {_ratio(paired, floor, low)[1]}" for low in lows]
    return (
        f"Against the numpy network written by hand ({fmt_seconds(floor['step_s'])} per step), each "
        "low-level loop's step time over it: "
        + "; ".join(parts)
        + ". Below 1 the framework's kernels and dispatch beat the numpy written by hand on this task; "
        "above 1 they cost more than they buy here."
    )


def _view(
    key: tuple[str, str, str], device: str, part: pd.DataFrame, paired: PairedIndex | None
) -> StylesView | None:
    default = part[(part["mode"] == "default") & part["step_s"].map(is_number)]
    floor = default[default["api"] == BY_HAND]
    rows, sentences, lows = [], [], []
    for _, group in default[default["api"] != BY_HAND].groupby("engine", sort=True):
        low = group[group["api"] == LOW]
        high = group[group["api"] == HIGH]
        if low.empty or high.empty:
            continue
        base = low.iloc[0]
        lows.append(base)
        rows.append(_row(base, LOW, None, paired))
        for _, stat in high.sort_values("label").iterrows():
            rows.append(_row(stat, HIGH, base, paired))
            sentences.append(_cost_sentence(base, stat, paired))
    if not floor.empty:
        floor_row = floor.iloc[0]
        rows += [_row(floor_row, BY_HAND, None, paired)]
        if lows:
            sentences.append(_floor_sentence(floor_row, lows, paired))
    if not rows:
        return None
    return StylesView(*key, device, rows, sentences)


def styles_views(stats: pd.DataFrame, paired: PairedIndex | None = None) -> list[StylesView]:
    """A view per section and device where some engine has both API styles, or the numpy floor."""
    views = []
    for key, part in sections(stats):
        for device, on_device in part.groupby("device", sort=True):
            view = _view(key, device, on_device, paired)
            if view is not None:
                views.append(view)
    return views


PART = "api_styles"  # its template: harness/report/render/templates/parts/api_styles.html.j2


def build(data: ReportData) -> dict[str, Any]:
    """The section's view: the names its template part reads, from the report's data."""
    return {"styles": styles_views(data.stats, data.paired)}
