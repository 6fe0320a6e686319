"""The first screen: per task and device, one line per question a reader decides from, each with
its interval and the A/A figure beside it, and how far to trust it.

The questions: which implementation is fastest as its users write it (mode ``default``); which is
fastest at its best (any mode); what the high-level style costs over the low-level loop on the
same engine; whether they reach the same accuracy; who reaches the task's target first. Every
speed ratio is the paired per-round ratio the tables print (:class:`PairedIndex`), and a ratio
inside the section's A/A band, or whose interval holds 1, is a tie: "cannot be told apart".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.compare.paired import PairedRatio, describe
from harness.record.derived import fmt_percent, fmt_seconds, is_number
from harness.report.data import ReportData
from harness.report.data.paired import AAFigure, PairedIndex, SectionDevice
from harness.report.data.summary import sections
from harness.report.sections.narrative import accuracies_agree
from harness.report.sections.tasks import _anchor as section_anchor

LOW, HIGH = "low-level", "high-level"


@dataclass
class Verdict:
    question: str
    answer: str
    ratio: PairedRatio | None = None  # the ratio the answer quotes (tests check it against the tables)
    tie: bool = False


@dataclass
class VerdictView:
    machine_id: str
    task: str
    variant: str
    device: str
    anchor: str
    verdicts: list[Verdict] = field(default_factory=list)
    trust: str = ""


def _timed(part: pd.DataFrame) -> pd.DataFrame:
    return part.loc[part["step_s"].map(is_number).astype(bool)].sort_values("step_s")


def _tie(ratio: PairedRatio | None, figure: AAFigure | None) -> bool:
    if ratio is None:
        return False
    return (ratio.low <= 1.0 <= ratio.high) or bool(figure and figure.tie(ratio.estimate))


def _against(best: pd.Series, other: pd.Series, paired: PairedIndex, figure: AAFigure | None) -> Verdict:
    """``best`` against the next one: the paired ratio of ``other``'s step time over ``best``'s."""
    ratio = paired.ratio(best, other)
    if ratio is None:
        return Verdict(
            "", f"{other['label']} unpaired ({other['step_s'] / best['step_s']:.2f}×): no interval"
        )
    if _tie(ratio, figure):
        return Verdict(
            "", f"{best['label']} and {other['label']} cannot be told apart ({describe(ratio)})", ratio, True
        )
    return Verdict("", f"the next, {other['label']}, takes {describe(ratio)} as long", ratio)


def _fastest(
    part: pd.DataFrame, paired: PairedIndex, figure: AAFigure | None, question: str
) -> Verdict | None:
    ranked = _timed(part)
    if ranked.empty:
        return None
    best = ranked.iloc[0]
    head = f"{best['label']}, {fmt_seconds(best['step_s'])} per step"
    if len(ranked) == 1:
        return Verdict(question, head + " (the only one measured)")
    versus = _against(best, ranked.iloc[1], paired, figure)
    return Verdict(question, f"{head}; {versus.answer}", versus.ratio, versus.tie)


def _style_cost(part: pd.DataFrame, paired: PairedIndex, figure: AAFigure | None) -> list[Verdict]:
    out = []
    default = _timed(part[part["mode"] == "default"])
    for _, group in default.groupby("engine", sort=True):
        lows, highs = group[group["api"] == LOW], group[group["api"] == HIGH]
        if lows.empty or highs.empty:
            continue
        low = lows.iloc[0]
        for _, high in highs.sort_values("label").iterrows():
            ratio = paired.ratio(low, high)
            if ratio is None:
                continue
            tie = _tie(ratio, figure)
            words = "no cost that can be told from noise" if tie else f"{describe(ratio)} the step time"
            out.append(Verdict("", f"{high['label']} over {low['label']}: {words}", ratio, tie))
    if not out:
        return []
    first, *rest = out
    return [Verdict("What the high-level style costs", first.answer, first.ratio, first.tie), *rest]


def _accuracy(part: pd.DataFrame) -> Verdict | None:
    default = part.loc[(part["mode"] == "default") & part["test_accuracy"].map(is_number).astype(bool)]
    if default.empty:
        return None
    low, high = default["test_accuracy"].min(), default["test_accuracy"].max()
    span = f"{fmt_percent(low)}–{fmt_percent(high)} test accuracy"
    if default["n_ok"].min() < 2:
        return Verdict("Same accuracy?", f"{span}; one seed: cannot tell (no interval over seeds)")
    if accuracies_agree(default):
        return Verdict("Same accuracy?", f"yes: {span}, every 95% interval over seeds overlaps", tie=True)
    best = default.sort_values("test_accuracy").iloc[-1]
    return Verdict(
        "Same accuracy?", f"no: {span}; {best['label']} is highest and some intervals do not overlap"
    )


def _target(part: pd.DataFrame) -> Verdict | None:
    default = part[part["mode"] == "default"]
    reached = default.loc[default["time_to_target_s"].map(is_number).astype(bool)]
    reached = reached.sort_values("time_to_target_s")
    if default.empty:
        return None
    target = default["target_val_accuracy"].dropna()
    goal = fmt_percent(target.iloc[0]) if len(target) else "the target"
    missed = [f"{r['label']} ({int(r['n_ok'] - r['n_reached'])} of {int(r['n_ok'])})"
              for _, r in default.iterrows() if r["n_ok"] > r["n_reached"]]  # fmt: skip
    if reached.empty:
        return Verdict("Time to target", f"no run reached {goal} validation accuracy")
    first = reached.iloc[0]
    took = fmt_seconds(first["time_to_target_s"])
    text = f"{first['label']} first: {took} of training to {goal} validation accuracy"
    text += f"; not reached by {', '.join(missed)}" if missed else "; every run reached it"
    return Verdict("Time to target", text)


def _trust(figure: AAFigure | None, device: str, part: pd.DataFrame) -> str:
    seeds = int(part["n_ok"].max()) if len(part) else 0
    if figure is None or figure.ratio is None:
        why = figure.reason if figure is not None else "no A/A twin ran here"
        return f"Trust: no A/A figure on {device} ({why}); ratios have their intervals only. {seeds} seed(s)."
    low, high = figure.band or (math.nan, math.nan)
    return (
        f"Trust: identical code differed from itself by {describe(figure.ratio)} on {device} (A/A, "
        f"{figure.ratio.n_rounds} paired rounds): a ratio inside {low:.2f}×–{high:.2f}× is a tie. "
        f"Up to {seeds} seed(s) per implementation."
    )


def verdict_views(
    stats: pd.DataFrame, paired: PairedIndex, aa: dict[SectionDevice, AAFigure] | None = None
) -> list[VerdictView]:
    """One view per (machine, task, variant, device) with a timed run, in page order."""
    aa = aa or {}
    views = []
    for (machine_id, task, variant), part in sections(stats):
        for device, mine in part.groupby("device", sort=True):
            if _timed(mine).empty:
                continue
            figure = aa.get((machine_id, task, variant, str(device)))
            found = [
                _fastest(mine[mine["mode"] == "default"], paired, figure, "Fastest as users write it"),
                _fastest(mine, paired, figure, "Fastest at its best (any mode)"),
                *_style_cost(mine, paired, figure),
                _accuracy(mine),
                _target(mine),
            ]
            anchor = section_anchor(machine_id, task, variant)
            views.append(
                VerdictView(
                    machine_id,
                    task,
                    variant,
                    str(device),
                    anchor,
                    [v for v in found if v],
                    _trust(figure, str(device), mine),
                )  # fmt: skip
            )
    return views


PART = "verdicts"  # its template: harness/report/render/templates/parts/verdicts.html.j2


def build(data: ReportData) -> dict[str, Any]:
    """The section's view: the names its template part reads, from the report's data."""
    return {"verdicts": verdict_views(data.stats, data.paired, data.aa)}
