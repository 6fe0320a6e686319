"""The "Overfitting study" section: runs of suite ``overfitting`` -> gap and onset per factor.

Each run's overfitting analysis (:func:`harness.record.derived.overfitting_of`, derived from its
history when the records are read) is shown, never recomputed here.
Runs are placed on a factor by how their spec differs from the study's *reference*, the spec
whose every factor field holds its most common value among the study's distinct specs (the suite
varies one cause at a time around it):

- ``train_fraction``, ``hidden`` (width), ``label_noise``: a spec that differs from the reference
  in that one field is a level of that factor; the reference is a level of every factor;
- ``cure``: the reference is ``none``; a spec differing only in ``dropout`` or ``weight_decay`` is
  that cure; ``early stopping`` is the reference runs replayed with early stopping (the gap and
  accuracies at the epoch whose weights it restores). Specs differing in more fields are left out.

The gap is train minus validation accuracy (final epoch; restored epoch for early stopping).
Frameworks *agree* on a configuration when the spread of their mean gaps (largest minus
smallest) is at most twice the pooled seed-to-seed standard deviation, floored at 1 pp.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from harness.record.derived import median as median_of
from harness.report.data import ReportData
from harness.report.data.plot import Plot
from harness.report.data.study import FACTOR_NAMES, FACTORS, agreement


@dataclass
class StudyView:
    """What the page shows for the study: the figure, sentences and the agreement table."""

    plot: Plot
    sentences: list[str]
    agreement: list[dict[str, Any]]
    labels: list[str] = field(default_factory=list)
    n_runs: int = 0

    @property
    def figure_uri(self) -> str:
        return self.plot.uri


def _trend(levels: pd.DataFrame, factor: str) -> str:
    """How the mean gap moves along a factor's levels, in words."""
    first, last = levels.iloc[0], levels.iloc[-1]
    steps = np.diff(levels["gap"].to_numpy())
    shape = "steadily" if (steps > 0).all() or (steps < 0).all() else "(not monotonically)"
    verb = "grows" if last["gap"] > first["gap"] else "shrinks"
    return (
        f"As the {FACTOR_NAMES[factor]} goes from {first['level']} to {last['level']}, the mean gap "
        f"{verb} {shape} from {first['gap']:.2f} to {last['gap']:.2f}"
    )


def _cure_sentence(levels: pd.DataFrame) -> str:
    base = levels[levels["level"] == "none"]
    if base.empty:
        return ""
    others = [f"{r['level']} {r['gap']:.2f}" for _, r in levels.iterrows() if r["level"] != "none"]
    return f"Without a cure the mean gap is {base['gap'].iloc[0]:.2f}; with " + ", ".join(others)


def _agreement_clause(rows: list[dict[str, Any]], factor: str) -> str:
    mine = [r for r in rows if r["factor"] == FACTOR_NAMES[factor]]
    apart = [r for r in mine if not r["agree"]]
    if not apart:
        return "all frameworks agree within their seed-to-seed spread at every level."
    flagged = "; ".join(
        f"{r['level']} (means {', '.join(f'{k} {v:.2f}' for k, v in r['means'].items())}, "
        f"seed sd {r['seed_sd'] if r['seed_sd'] is not None else 'n/a'})"
        for r in apart
    )
    return f"the frameworks do not agree at {flagged}."


def _runs(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run (the reference sits on every factor; early stopping replays it)."""
    return frame[frame["level"] != "early stopping"].drop_duplicates("run_id")


def _early_stopping_sentences(frame: pd.DataFrame) -> list[str]:
    """Accuracy of the weights early stopping restores against training to the end (reference runs)."""
    stopped = frame[frame["level"] == "early stopping"]
    full = frame[(frame["factor"] == "cure") & (frame["level"] == "none")]
    if stopped.empty or full.empty:
        return []
    text = (
        f"Early stopping on validation loss keeps weights with a mean validation accuracy of "
        f"{stopped['val_accuracy'].mean():.3f} against {full['val_accuracy'].mean():.3f} after the last epoch"
    )
    if stopped["test_accuracy"].notna().all():
        text += f" (test {stopped['test_accuracy'].mean():.3f} against {full['test_accuracy'].mean():.3f})"
    better = stopped["val_accuracy"].mean() >= full["val_accuracy"].mean()
    tail = (
        "."
        if better
        else ": here validation loss rises while accuracy still improves, so it stops too early."
    )
    return [text + tail]


def study_sentences(frame: pd.DataFrame, rows: list[dict[str, Any]]) -> list[str]:
    """One sentence per factor (trend of the mean gap, agreement) and one on onsets."""
    out = []
    for factor in FACTORS:
        part = frame[frame["factor"] == factor]
        if part["level"].nunique() < 2:
            continue
        levels = part.groupby(["order", "level"], as_index=False)["gap"].mean()
        head = _cure_sentence(levels) if factor == "cure" else _trend(levels, factor)
        out.append(f"{head}; {_agreement_clause(rows, factor)}")
    out += _early_stopping_sentences(frame)
    runs = _runs(frame)
    found = runs["onset_epoch"].notna()
    if len(runs):
        out.append(
            f"An overfitting onset is detected in {int(found.sum())} of {len(runs)} runs"
            + (
                f", at a median epoch of {runs.loc[found, 'onset_epoch'].median():.0f}."
                if found.any()
                else "."
            )
        )
    return out


def study_view(frame: pd.DataFrame) -> StudyView | None:
    """The study section's content from :func:`harness.report.data.study.study_frame`, or
    ``None`` when no usable run of the suite is present."""
    if frame.empty:
        return None
    labels = sorted(frame["label"].unique())
    rows = agreement(frame)
    return StudyView(
        plot=Plot("study", {"study": frame, "factors": FACTOR_NAMES}, labels),
        sentences=study_sentences(frame, rows),
        agreement=rows,
        labels=labels,
        n_runs=len(_runs(frame)),
    )


def overfit_note(overfitting: pd.Series) -> str:
    """For a section's headline: how many analysed runs have a detected onset, or ``""``."""
    results = [v for v in overfitting.dropna() if isinstance(v, dict) and "onset_epoch" in v]
    onsets = [v["onset_epoch"] for v in results if v["onset_epoch"] is not None]
    if not onsets:
        return ""
    median = f"median epoch {median_of(onsets):.0f}"
    return f" Overfitting: an onset is detected in {len(onsets)} of {len(results)} runs ({median})."


PART = "study"  # its template: harness/report/render/templates/parts/study.html.j2


def build(data: ReportData) -> dict[str, Any]:
    """The section's view: the names its template part reads, from the report's data."""
    return {"study": study_view(data.study)}
