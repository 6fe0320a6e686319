"""The page's first screen: one table that answers across tasks, and what it was measured on.

One row per machine, task (and spec variant) and device, read from the same facts as each task's
verdict lines (:mod:`.verdicts`), so a number here is the number there: the fastest implementation
as its users write it with its time per step; what each high-level style costs per step over its
framework's own low-level loop (a column per pair, so a reader follows one framework across
tasks); whether the accuracies agree; who reaches the task's target first; and the A/A band by
which a ratio is called a tie. Then one sentence on how far to trust the figures, and one line
per machine on what ran and what could not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.compare.paired import describe
from harness.record.format import fmt_percent, fmt_seconds, is_number
from harness.record.tally import Tally
from harness.report.data import ReportData
from harness.report.sections.verdicts import StyleCost, VerdictView, verdict_views

TIE_MARK = "≈ 1×"


@dataclass(frozen=True)
class Cell:
    """One cell: its text, a second line, a tooltip with the interval, and whether it is a tie."""

    text: str
    sub: str = ""
    title: str = ""
    tie: bool = False


@dataclass
class Row:
    """One task (and variant) on one device of one machine."""

    machine_id: str
    task: str
    variant: str
    device: str
    anchor: str
    network: str
    fastest: Cell
    styles: dict[str, Cell]
    accuracy: Cell
    target: Cell
    aa: Cell


@dataclass
class Answer:
    """The first screen: the cross-task rows, their style columns, the trust sentence, and a line
    per machine saying what ran."""

    rows: list[Row]
    style_columns: list[tuple[str, str]]  # key, header
    trust: str
    machines: list[str] = field(default_factory=list)
    single_task: bool = False
    first_line: str = ""


def _network(runs: pd.DataFrame, view: VerdictView) -> str:
    mine = runs[(runs["task"] == view.task) & (runs["variant"] == view.variant)
                & (runs["machine_id"] == view.machine_id) & (runs["status"] == "ok")]  # fmt: skip
    if mine.empty:
        return ""
    config, steps = mine.iloc[0]["config"], mine.iloc[0]["steps_per_epoch"]
    sizes = [config.get("n_features"), *config.get("hidden", []), config.get("n_classes")]
    text = "-".join(str(s) for s in sizes if s is not None)
    if config.get("batch_size"):
        text += f", batch {config['batch_size']}"
    return text + (f", {int(steps)} steps per epoch" if is_number(steps) else "")


def _fastest(view: VerdictView) -> Cell:
    found = view.fastest
    if found is None:
        return Cell("—")
    sub = ""
    if found.next_label and found.ratio is not None:
        sub = (
            f"tie with {found.next_label}"
            if found.tie
            else f"next: {found.next_label} {found.ratio.estimate:.2f}×"
        )
    elif found.next_label:
        sub = f"next: {found.next_label} {found.unpaired:.2f}× (unpaired)"
    title = f"{found.next_label} over {found.label}: {describe(found.ratio)}" if found.ratio else ""
    return Cell(f"{found.label} {fmt_seconds(found.step_s)}", sub, title, found.tie)


def style_key(cost: StyleCost) -> str:
    """The column of a style pair: ``keras ÷ tensorflow``."""
    return f"{cost.high} ÷ {cost.low}"


def _style(cost: StyleCost) -> Cell:
    text = TIE_MARK if cost.tie else f"{cost.ratio.estimate:.2f}×"
    sub = f"+{fmt_seconds(cost.extra_overhead_s)} per epoch" if cost.overhead_matters else ""
    title = f"{cost.high} over {cost.low}, per step: {describe(cost.ratio)}" + (
        f"; its epochs also take {fmt_seconds(cost.extra_overhead_s)} more to set up" if sub else ""
    )
    return Cell(text, sub, title, cost.tie)


def _accuracy(view: VerdictView) -> Cell:
    found = view.accuracy
    if found is None:
        return Cell("—")
    span = f"{fmt_percent(found.low)}–{fmt_percent(found.high)}"
    if found.agree is None:
        return Cell("not compared", f"{span}; one seed", "one seed per implementation: no interval")
    return Cell("yes" if found.agree else "no", span, "" if found.agree else f"{found.best_label} is highest")


def _target(view: VerdictView) -> Cell:
    found = view.target
    if found is None:
        return Cell("—")
    goal = fmt_percent(found.goal) if is_number(found.goal) else "target"
    if not found.first_label:
        return Cell("not reached", f"{goal} validation accuracy")
    sub = f"to {goal}" + (
        f"; last {found.last_label} {fmt_seconds(found.last_s)}"
        if found.last_label != found.first_label
        else ""
    )
    missed = f"not reached by {', '.join(found.missed)}" if found.missed else ""
    return Cell(f"{found.first_label} {fmt_seconds(found.first_s)}", sub, missed)


def _aa(view: VerdictView) -> Cell:
    figure = view.aa
    if figure is None or figure.band is None:
        return Cell("—", "no A/A figure", figure.reason if figure is not None else "no twin ran")
    low, high = figure.band
    return Cell(f"{low:.2f}–{high:.2f}×", f"{view.seeds} seed{'s' if view.seeds != 1 else ''}",
                f"{figure.label} against its identical twin: {describe(figure.ratio)}")  # fmt: skip


def _trust(views: list[VerdictView]) -> str:
    bands = [v.aa.band for v in views if v.aa is not None and v.aa.band is not None]
    one_seed = sorted({v.task for v in views if v.accuracy is not None and v.accuracy.agree is None})
    if bands:
        widest = max(max(high - 1, 1 - low) for low, high in bands)
        text = (
            "How far to trust this: identical code, run twice side by side, differed from itself by up to "
            f"{widest:.0%} (the A/A column), so a ratio inside its task's A/A band is shown as {TIE_MARK} "
            "(a tie), and smaller differences than that are not claimed."
        )
    else:
        text = "How far to trust this: no A/A twin ran, so each ratio has its own interval only."
    if one_seed:
        whose = "its" if len(one_seed) == 1 else "their"
        text += f" {', '.join(one_seed)} ran one seed: {whose} accuracies are not compared."
    return text


def _machines(data: ReportData, tally: Tally) -> list[str]:
    runs = data.frames.runs
    lines = []
    for line in data.run_set.lines:
        machine_id = line.split(":", 1)[0]
        mine = runs[runs["machine_id"] == machine_id] if not runs.empty else runs
        info = mine.iloc[0]["machine"] if len(mine) else {}
        stats = data.stats
        peak = stats.loc[stats["machine_id"] == machine_id, "peak_flops_per_s"].dropna() if (
            "peak_flops_per_s" in stats) else pd.Series(dtype=float)  # fmt: skip
        cores = info.get("cpu_cores_logical")
        where = ", ".join(x for x in (
            str(info.get("cpu_model", "")), f"{cores} cores" if cores else "",
            f"matmul peak {peak.median() / 1e9:.0f} GFLOP/s" if len(peak) else "",
        ) if x)  # fmt: skip
        lines.append(f"{line}" + (f" ({where})" if where else ""))
    lines.append(tally.words())
    return lines


def answer(data: ReportData, views: list[VerdictView] | None = None) -> Answer:
    """The first screen of ``data``'s page."""
    views = verdict_views(data.stats, data.paired, data.aa) if views is None else views
    columns: dict[str, str] = {}
    for view in views:
        for cost in view.styles:
            columns.setdefault(style_key(cost), style_key(cost))
    rows = [
        Row(view.machine_id, view.task, view.variant, view.device, view.anchor,
            _network(data.frames.runs, view), _fastest(view), {style_key(c): _style(c) for c in view.styles},
            _accuracy(view), _target(view), _aa(view))
        for view in views
    ]  # fmt: skip
    tasks = {(v.task, v.variant) for v in views}
    found = Answer(rows, sorted(columns.items()), _trust(views), _machines(data, data.tally), len(tasks) == 1)
    found.first_line = _first_line(data, views)
    return found


def _first_line(data: ReportData, views: list[VerdictView]) -> str:
    """What the page is about, in one line: how many tasks and implementations on which devices,
    or that it holds one task only, or that no run finished ok (and where)."""
    machines = sorted({line.split(":", 1)[0] for line in data.run_set.lines}) or ["no machine"]
    if not views:
        return f"No run finished ok on {', '.join(machines)}: {data.tally.words()}."
    stats = data.stats[data.stats["n_ok"] > 0]
    impls = stats.loc[stats["mode"] == "default", "impl"].nunique()
    devices = " and ".join(sorted({v.device for v in views}))
    tasks = list(dict.fromkeys(v.task for v in views))  # the page's order: smallest network first
    fast = stats.loc[stats["mode"] != "default", "label"].nunique()
    what = f"{impls} implementations as their users write them" + (f" and {fast} fast paths" if fast else "")
    where = f"on {devices} of {', '.join(machines)}"
    if len(tasks) == 1:
        return f"One task only, {tasks[0]}: {what}, {where}."
    return f"{len(tasks)} tasks ({', '.join(tasks)}), {what}, {where}."


PART = "answer"  # its template: harness/report/render/templates/parts/answer.html.j2


def build(data: ReportData) -> dict[str, Any]:
    """The section's view: the names its template part reads, from the report's data."""
    views = verdict_views(data.stats, data.paired, data.aa)
    return {"answer": answer(data, views), "verdicts": views}
