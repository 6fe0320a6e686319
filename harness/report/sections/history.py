"""The History section: headline metrics of each machine over its stored runs, as a figure and sentences.

Built from :func:`harness.compare.history.history_frame`, which pools the runs of one commit into one
point (so x has one point per commit). Every point of a commit is drawn at that commit's
earliest run on the machine, so the lines of one task line up and a tick names one commit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.compare.changes import DRIFT, Change
from harness.record.format import fmt_percent, fmt_seconds
from harness.record.keys import run_label
from harness.report.data import INTERVAL_COMMITS, ReportData
from harness.report.data.plot import Plot

MIN_COMMITS = 2


@dataclass
class HistoryView:
    """One machine's history: the figure (``uri`` empty when fewer than two commits) and sentences."""

    machine_id: str
    n_commits: int
    first_run: str
    last_run: str
    plot: Plot | None = None
    sentences: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return self.plot.uri if self.plot is not None else ""


def _labels(frame: pd.DataFrame) -> pd.Series:
    """``torch (cpu)``; with a short config hash when a task was run with several specs."""
    base = [
        f"{run_label(i, m)} ({d})"
        for i, m, d in zip(frame["impl"], frame["mode"], frame["device"], strict=True)
    ]
    several = frame.groupby("task")["config_key"].transform("nunique") > 1
    suffix = frame["config_key"].map(lambda k: f" cfg {hashlib.sha1(k.encode()).hexdigest()[:6]}")
    return pd.Series(base, index=frame.index) + suffix.where(several, "")


def _prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Adds ``label``, ``run_at`` (the commit's first run, naive UTC) and ``tick`` (commit and date)."""
    run_at = frame.groupby("git_commit")["created_at"].transform("min").dt.tz_convert(None)
    tick = frame["git_commit"].str[:8] + "\n" + run_at.dt.strftime("%m-%d")
    return frame.assign(label=_labels(frame), run_at=run_at, tick=tick)


def _change(line: pd.DataFrame, metric: str) -> str:
    points = line[line["metric"] == metric].dropna(subset=["value"]).sort_values("run_at")
    if len(points) < MIN_COMMITS:
        return ""
    first, last = points["value"].iloc[0], points["value"].iloc[-1]
    if metric == "test_accuracy":
        return f"test accuracy from {fmt_percent(first)} to {fmt_percent(last)}"
    percent = (last / first - 1) * 100 if first else float("nan")
    move = f" ({percent:+.0f}%)" if abs(percent) >= 0.5 else " (±0%)" if first else ""
    return f"step time moved from {fmt_seconds(first)} to {fmt_seconds(last)}{move}"


def task_sentence(task: str, part: pd.DataFrame) -> str:
    """How each implementation of ``task`` moved between its first and its latest commit."""
    clauses = []
    for label, line in part.groupby("label", sort=True):
        changes = [c for c in (_change(line, "step_time"), _change(line, "test_accuracy")) if c]
        if changes:
            n = line["git_commit"].nunique()
            clauses.append(f"{label}: {' and '.join(changes)} over {n} runs")
    if not clauses:
        return f"{task}: no implementation has runs at two or more commits yet."
    return f"{task}: " + "; ".join(clauses) + "."


def tracked(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Per task, only the spec run at the most commits (then in the most runs): the one tracked
    over time. Studies that vary the spec (scaling, overfitting) would otherwise draw a line per
    variant; they are named in a sentence instead."""
    kept, notes = [], []
    for task, part in frame.groupby("task", sort=True):
        counts = part.groupby("config_key").agg(
            commits=("git_commit", "nunique"), rows=("git_commit", "size")
        )
        best = counts.sort_values(["commits", "rows"], ascending=False).index[0]
        kept.append(part[part["config_key"] == best])
        if len(counts) > 1:
            notes.append(
                f"{task}: {len(counts) - 1} other spec variant(s) (e.g. from the scaling or overfitting "
                "suites) are not drawn; the line follows the spec run at the most commits."
            )
    return pd.concat(kept), notes


def _marks(
    frame: pd.DataFrame, changes: list[Change]
) -> tuple[list[tuple[str, pd.Timestamp, str]], list[str]]:
    """Where each change point of the drawn series sits (task, x, label) and its sentence."""
    marks, sentences = [], []
    for change in changes:
        line = frame[
            (frame["task"] == change.task)
            & (frame["impl"] == change.impl)
            & (frame["mode"] == change.mode)
            & (frame["device"] == change.device)
            & (frame["config_key"] == change.config_key)
            & (frame["git_commit"] == change.commit)
        ]
        if line.empty:
            continue
        marks.append((change.task, line["run_at"].iloc[0], line["label"].iloc[0]))
        what = "Drift" if change.kind == DRIFT else "Change point"
        sentences.append(f"{what}: {change.describe()}.")
    return marks, sentences


def _machine_view(
    machine_id: str, frame: pd.DataFrame, notes: list[str], colours: dict, changes: list[Change]
) -> HistoryView:
    frame = _prepare(frame)
    view = HistoryView(
        machine_id=machine_id,
        n_commits=frame["git_commit"].nunique(),
        first_run=frame["run_at"].min().strftime("%Y-%m-%d"),
        last_run=frame["run_at"].max().strftime("%Y-%m-%d"),
    )
    if view.n_commits < MIN_COMMITS:
        return view
    marks, change_sentences = _marks(frame, changes)
    view.plot = Plot("history", {"history": frame, "marks": marks}, colours)
    view.sentences = [task_sentence(task, part) for task, part in frame.groupby("task", sort=True)]
    view.sentences += change_sentences + notes
    return view


def history_views(frame: pd.DataFrame, changes: list[Change] | None = None) -> list[HistoryView]:
    """One view per machine with ``ok`` runs, from :func:`harness.compare.history.history_frame`,
    its change points (:func:`harness.compare.changes.detect`) marked."""
    if frame.empty:
        return []
    per_machine = {m: tracked(part) for m, part in frame.groupby("machine_id", sort=True)}
    labels = pd.concat([_labels(kept) for kept, _ in per_machine.values()])
    colours = sorted(labels.unique())  # one palette over every machine: a label keeps its colour
    found = changes or []
    return [
        _machine_view(m, kept, notes, colours, [c for c in found if c.machine_id == m])
        for m, (kept, notes) in per_machine.items()
    ]


PART = "history"  # its template: harness/report/render/templates/parts/history.html.j2


def build(data: ReportData) -> dict[str, Any]:
    """The section's view: the names its template part reads, from the report's data."""
    return {
        "history": history_views(data.history, data.changes),
        "history_interval_commits": INTERVAL_COMMITS,
    }
