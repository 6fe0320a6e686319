"""Machines side by side: for the same task, implementation, mode and device, each machine's numbers
in one table ("which framework on which hardware"). Ratios within a machine are paired (its runs
were interleaved); ratios across machines are not: two machines never ran a round together, so a
cross-machine factor carries each machine's drift and is given as a ratio of medians, said as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.record.format import fmt_percent, fmt_seconds, is_number
from harness.report.data import ReportData


@dataclass
class MachinesView:
    """One task and variant measured on several machines."""

    task: str
    variant: str
    machines: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)


def _cell(stat: pd.Series | None) -> str:
    if stat is None or not is_number(stat["step_s"]):
        return "—"
    return (
        f"{fmt_seconds(stat['step_s'])} [{fmt_seconds(stat['step_s_lo'])}–{fmt_seconds(stat['step_s_hi'])}]"
    )


def _row(label: str, device: str, by_machine: dict[str, pd.Series], machines: list[str]) -> dict[str, Any]:
    timed = {m: s for m, s in by_machine.items() if is_number(s["step_s"])}
    fastest = min(timed, key=lambda m: timed[m]["step_s"]) if timed else None
    steps = [s["step_s"] for s in timed.values()]
    accuracy = {
        m: fmt_percent(s["test_accuracy"]) for m, s in by_machine.items() if is_number(s["test_accuracy"])
    }
    return {
        "label": label,
        "device": device,
        "steps": [_cell(by_machine.get(m)) for m in machines],
        "accuracy": [accuracy.get(m, "—") for m in machines],
        "fastest": fastest or "",
        "spread": f"{max(steps) / min(steps):.2f}× (unpaired)" if len(steps) > 1 else "",
    }


def machines_views(stats: pd.DataFrame) -> list[MachinesView]:
    """A view per task and variant measured on more than one machine."""
    if stats.empty or stats["machine_id"].nunique() < 2:
        return []
    views = []
    for (task, variant), part in stats.groupby(["task", "variant"], sort=True):
        machines = sorted(part["machine_id"].unique())
        if len(machines) < 2:
            continue
        view = MachinesView(str(task), str(variant), machines)
        for (label, device), group in part.groupby(["label", "device"], sort=True):
            by_machine = {str(s["machine_id"]): s for _, s in group.iterrows()}
            if len(by_machine) > 1:
                view.rows.append(_row(str(label), str(device), by_machine, machines))
        fastest = pd.Series([r["fastest"] for r in view.rows if r["fastest"]]).value_counts()
        if len(fastest):
            view.sentences.append(
                f"{fastest.index[0]} has the shortest step time for {fastest.iloc[0]} of the "
                f"{len(view.rows)} implementations measured on more than one machine here. Factors between "
                "machines are ratios of medians taken at different times (unpaired): each machine's drift "
                "is inside them."
            )
        if view.rows:
            views.append(view)
    return views


PART = "machines"  # its template: harness/report/render/templates/parts/machines.html.j2


def build(data: ReportData) -> dict[str, Any]:
    """The section's view: the names its template part reads, from the report's data."""
    return {"machines_side": machines_views(data.stats)}
