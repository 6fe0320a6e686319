"""One section per machine, task and spec variant: the headline table, its figures and sentences."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.record.derived import is_number
from harness.report.data import ReportData
from harness.report.data.frame import Frames
from harness.report.data.paired import AAFigure, PairedIndex, SectionDevice
from harness.report.data.plot import Plot
from harness.report.data.summary import SECTION, sections
from harness.report.sections import narrative, study
from harness.report.sections.tables import Table, headline_table


@dataclass
class FigureView:
    """One embedded figure with its alt text, caption and the sentences that read it."""

    plot: Plot
    alt: str
    caption: str
    sentences: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return self.plot.uri


@dataclass
class SectionView:
    """Everything shown for one machine, task and spec variant."""

    anchor: str
    machine_id: str
    task: str
    variant: str
    headline: str
    table: Table
    table_sentences: list[str]
    aa_sentences: list[str]
    left_out: list[dict[str, Any]]
    speed: list[FigureView]
    accuracy: list[FigureView]
    overfitting: list[dict[str, Any]]
    overfitting_columns: list[str] = field(default_factory=list)


def _anchor(*parts: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-") or "section"


def _part(frame: pd.DataFrame, key: tuple[str, str, str]) -> pd.DataFrame:
    if frame.empty:
        return frame
    mask = (frame[SECTION] == pd.Series(key, index=SECTION)).all(axis=1)
    return frame[mask]


def _speed_figures(frames: Frames, key: tuple, stats: pd.DataFrame, colours: list[str]) -> list[FigureView]:
    epochs = _part(frames.epochs, key)
    if epochs.empty:
        return []
    steps = _part(frames.steps, key)
    return [
        FigureView(
            Plot("step_time", {"epochs": epochs, "steps": steps}, colours),
            "Step time distributions",
            "Step time per implementation and device. Left, the headline: each steady epoch's time divided "
            "by its steps (boxes pool every steady epoch of every seed). Right, single steps each timed "
            "with a device sync, which adds the per-step sync overhead.",
            narrative.sync_sentences(stats),
        ),
        FigureView(
            Plot("throughput", {"stats": stats}, colours),
            "Training throughput",
            "Steady-state training throughput: median samples per second, whiskers the 95% bootstrap CI.",
            narrative.throughput_sentences(stats),
        ),
        FigureView(
            Plot("warmup", {"stats": stats}),
            "Warm-up and compile cost",
            "One-off costs next to a steady epoch: framework import (paid once per worker process), model "
            "build, and the first epoch, which includes tracing and compilation.",
            narrative.warmup_sentences(stats),
        ),
    ]


def _accuracy_figures(
    frames: Frames, key: tuple, stats: pd.DataFrame, colours: list[str]
) -> list[FigureView]:
    history = _part(frames.history, key)
    if history.empty:
        return []
    return [
        FigureView(
            Plot("curves", {"history": history}, colours),
            "Loss and accuracy per epoch",
            "Train and validation loss and accuracy per epoch: line the mean over seeds, band ±1 standard "
            "deviation; a star marks each implementation's best validation-accuracy epoch.",
            narrative.best_epoch_sentences(history) + narrative.target_sentences(stats),
        ),
        FigureView(
            Plot("accuracy", {"stats": stats}, colours),
            "Test accuracy and generalization gap",
            "Test accuracy and generalization gap (final train minus validation accuracy), mean over seeds "
            "with a 95% Student-t interval.",
            narrative.accuracy_sentences(stats) + narrative.gap_sentences(stats),
        ),
    ]


OVERFITTING_COLUMNS = (
    "run", "best epoch", "best val acc", "onset", "gap at end (acc)", "gap at end (loss)",
    "early stop at", "its val acc", "epochs",
)  # fmt: skip


def _pct(value: Any) -> str:
    return f"{value * 100:.1f}%" if is_number(value) else "-"


def _overfitting(runs: pd.DataFrame) -> list[dict[str, Any]]:
    """The overfitting analyses of ok runs, one row per run, in words (never a raw frame)."""
    if runs.empty or "overfitting" not in runs:
        return []
    rows = runs[runs["overfitting"].map(lambda v: isinstance(v, dict) and bool(v))]
    out = []
    for _, r in rows.iterrows():
        o = r["overfitting"]
        run = f"{r['label']} on {r['device']}, seed {r['seed']}"
        if o.get("reason"):
            out.append({"run": run, "best epoch": f"not analysed: {o['reason']}"})
            continue
        final, stop = o.get("gap_final") or {}, o.get("early_stopping") or {}
        onset = o.get("onset_epoch")
        out.append({
            "run": run,
            "best epoch": str(o.get("best_epoch", "-")),
            "best val acc": _pct(o.get("best_val_accuracy")),
            "onset": f"epoch {onset}" if onset else "none found",
            "gap at end (acc)": _pct(final.get("accuracy_gap")),
            "gap at end (loss)": f"{final['loss_gap']:.3f}" if is_number(final.get("loss_gap")) else "-",
            "early stop at": f"epoch {stop['stopped_epoch']}" if stop.get("stopped_epoch") else "never",
            "its val acc": _pct(stop.get("val_accuracy")),
            "epochs": str(o.get("epochs", "-")),
        })  # fmt: skip
    return out


def _left_out(runs: pd.DataFrame) -> list[dict[str, Any]]:
    """The ok runs whose step times no table, sentence or ratio uses, why, and their epochs."""
    if runs.empty or "left_out" not in runs:
        return []
    rows = runs[runs["left_out"].astype(bool)]
    return [
        {
            "run": f"{r['label']} on {r['device']}, seed {r['seed']}",
            "why": r["left_out"],
            "epochs": ", ".join(f"{s * 1e3:.3g}" for s in r["steady_steps_s"]),
        }
        for _, r in rows.iterrows()
    ]


def _overfit_note(runs: pd.DataFrame, key: tuple[str, str, str]) -> str:
    part = _part(runs, key)
    return study.overfit_note(part["overfitting"]) if "overfitting" in part else ""


def build_sections(
    frames: Frames,
    stats: pd.DataFrame,
    paired: PairedIndex | None = None,
    aa: dict[SectionDevice, AAFigure] | None = None,
) -> list[SectionView]:
    """One view per (machine, task, variant), with its table, figures and sentences; speed ratios
    paired per round where ``paired`` holds the runs' interleaved rounds, a ratio inside the A/A
    band of ``aa`` (the section and device's twin) called a tie."""
    aa = aa or {}
    colours = sorted(frames.runs["label"].unique()) if not frames.runs.empty else []  # the palette's labels
    views = []
    for key, part in sections(stats):
        machine_id, task, variant = key
        mine = {d: f for (m, t, v, d), f in aa.items() if (m, t, v) == (machine_id, task, variant)}
        overfitting = _overfitting(_part(frames.runs, key))
        views.append(
            SectionView(
                anchor=_anchor(machine_id, task, variant),
                machine_id=machine_id,
                task=task,
                variant=variant,
                headline=narrative.headline_sentence(part, paired, mine) + _overfit_note(frames.runs, key),
                table=headline_table(part, paired),
                table_sentences=narrative.speed_sentences(part, paired, mine)
                + narrative.accuracy_sentences(part),
                aa_sentences=[f.sentence(d) for d, f in sorted(mine.items())],
                left_out=_left_out(_part(frames.runs, key)),
                speed=_speed_figures(frames, key, part, colours),
                accuracy=_accuracy_figures(frames, key, part, colours),
                overfitting=overfitting,
                overfitting_columns=list(OVERFITTING_COLUMNS),
            )
        )
    return views


PART = "tasks"  # its template: harness/report/render/templates/parts/tasks.html.j2


def build(data: ReportData) -> dict[str, Any]:
    """The section's view: the names its template part reads, from the report's data."""
    return {"sections": build_sections(data.frames, data.stats, data.paired, data.aa)}
