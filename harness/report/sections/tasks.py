"""One section per machine, task and spec variant: the answers for it in words (:mod:`.verdicts`),
the headline table of the implementations as their users write them (other modes are in the
Execution modes section), two figures (time per step; loss and accuracy per epoch), and the rest
collapsed: one-off costs, accuracy intervals, the overfitting analysis run by run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.record.format import fmt_seconds, is_number
from harness.report.data import ReportData
from harness.report.data.frame import Frames
from harness.report.data.paired import AAFigure, PairedIndex, SectionDevice
from harness.report.data.plot import Plot
from harness.report.data.summary import SECTION, section_anchor, sections
from harness.report.sections import narrative
from harness.report.sections.tables import Table, headline_table
from harness.report.sections.verdicts import VerdictView, verdict_views


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
    verdicts: list[VerdictView]
    table: Table
    table_sentences: list[str]
    aa_sentences: list[str]
    left_out: list[dict[str, Any]]
    figures: list[FigureView]
    more_figures: list[FigureView]
    overfitting: list[dict[str, Any]]
    overfitting_columns: list[str] = field(default_factory=list)
    other_modes: int = 0  # rows of fast paths, shown in the Execution modes section


def _part(frame: pd.DataFrame, key: tuple[str, str, str]) -> pd.DataFrame:
    if frame.empty:
        return frame
    mask = (frame[SECTION] == pd.Series(key, index=SECTION)).all(axis=1)
    return frame[mask]


def as_written(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of mode ``default`` (each framework as its users write it), or every row where no
    run of that mode is here."""
    if frame.empty or "mode" not in frame:
        return frame
    default = frame[frame["mode"] == "default"]
    return default if len(default) else frame


def _figures(frames: Frames, key: tuple, stats: pd.DataFrame, colours: list[str]) -> list[FigureView]:
    epochs, curves = as_written(_part(frames.epochs, key)), as_written(_part(frames.curves, key))
    out = []
    if not epochs.empty:
        out.append(FigureView(
            Plot("step_time", {"epochs": epochs}, colours),
            "Time per step",
            "Time per step of each implementation as its users write it: each steady epoch's steps (its "
            "epoch overhead and the first epoch left out) over their number; a box pools every steady "
            "epoch of every seed.",
        ))  # fmt: skip
    if not curves.empty:
        runs = as_written(_part(frames.runs, key))
        out.append(FigureView(
            Plot("curves", {"curves": curves}, colours),
            "Loss and accuracy per epoch",
            "Train and validation loss and accuracy per epoch: line the mean over seeds, band ±1 standard "
            "deviation; a star marks each implementation's best validation-accuracy epoch.",
            narrative.overfitting_sentences(curves, runs) + narrative.target_sentences(stats),
        ))  # fmt: skip
    return out


def _more_figures(stats: pd.DataFrame, colours: list[str]) -> list[FigureView]:
    if stats["step_s"].map(is_number).sum() == 0:
        return []
    return [
        FigureView(
            Plot("warmup", {"stats": stats}),
            "One-off costs",
            "One-off costs next to a steady epoch: framework import (paid once per worker process), model "
            "build, and the first epoch, which includes tracing and compilation.",
            narrative.warmup_sentences(stats),
        ),
        FigureView(
            Plot("accuracy", {"stats": stats}, colours),
            "Test accuracy and generalization gap",
            "Test accuracy and generalization gap (final train minus validation accuracy), mean over seeds "
            "with a 95% Student-t interval.",
            narrative.gap_sentences(stats),
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


def stall_sentence(runs: pd.DataFrame) -> str:
    """One sentence naming the runs whose epoch setups stalled ("" when none did); a time per step
    leaves setups out, so a stall moves the epoch overhead's tail, never the headline."""
    if runs.empty or "setup_stalls" not in runs:
        return ""
    found = runs[runs["setup_stalls"].map(bool)]
    if found.empty:
        return ""
    named = []
    for _, r in found.iterrows():
        *stalls, usual = r["setup_stalls"]
        worst = fmt_seconds(max(stalls))
        named.append(f"{r['label']} seed {r['seed']} ({len(stalls)} epoch(s), up to {worst} "
                     f"against its usual {fmt_seconds(usual)})")  # fmt: skip
    return (
        "Epoch setups that stalled (more than twice the run's usual setup, its median or of two the "
        "smaller, plus 20 ms, before the "
        f"first step; the time per step leaves setups out): {'; '.join(named)}."
    )


def build_sections(
    frames: Frames,
    stats: pd.DataFrame,
    paired: PairedIndex | None = None,
    aa: dict[SectionDevice, AAFigure] | None = None,
    views: list[VerdictView] | None = None,
) -> list[SectionView]:
    """One view per (machine, task, variant), with its answers, table, figures and sentences;
    speed ratios paired per round where ``paired`` holds the runs' interleaved rounds, a ratio
    inside the A/A band of ``aa`` (the section and device's twin) called a tie."""
    aa = aa or {}
    paired = paired if paired is not None else PairedIndex(frames.rounds)
    views = verdict_views(stats, paired, aa) if views is None else views
    colours = sorted(frames.runs["label"].unique()) if not frames.runs.empty else []  # the palette's labels
    out = []
    for key, part in sections(stats):
        machine_id, task, variant = key
        mine = {d: f for (m, t, v, d), f in aa.items() if (m, t, v) == (machine_id, task, variant)}
        shown = as_written(part)
        out.append(
            SectionView(
                anchor=section_anchor(machine_id, task, variant),
                machine_id=machine_id,
                task=task,
                variant=variant,
                verdicts=[v for v in views if (v.machine_id, v.task, v.variant) == key],
                table=headline_table(shown, paired),
                table_sentences=narrative.accuracy_sentences(shown)
                + [x for x in (stall_sentence(_part(frames.runs, key)),) if x],
                aa_sentences=[f.sentence(d) for d, f in sorted(mine.items())],
                left_out=_left_out(_part(frames.runs, key)),
                figures=_figures(frames, key, shown, colours),
                more_figures=_more_figures(shown, colours),
                overfitting=_overfitting(as_written(_part(frames.runs, key))),
                overfitting_columns=list(OVERFITTING_COLUMNS),
                other_modes=len(part) - len(shown),
            )
        )
    return out


PART = "tasks"  # its template: harness/report/render/templates/parts/tasks.html.j2


def build(data: ReportData) -> dict[str, Any]:
    """The section's view: the names its template part reads, from the report's data."""
    return {"sections": build_sections(data.frames, data.stats, data.paired, data.aa)}
