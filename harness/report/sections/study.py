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

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from harness.record.derived import config_key
from harness.record.derived import median as median_of
from harness.report.data import ReportData
from harness.report.data.plot import Plot

SUITE = "overfitting"
FACTORS = ("train_fraction", "hidden", "label_noise", "cure")
FACTOR_NAMES = {
    "train_fraction": "training-set fraction",
    "hidden": "hidden width",
    "label_noise": "label noise",
    "cure": "cure",
}
CURES = ("dropout", "weight_decay")
SPREAD_FLOOR = 0.01  # 1 pp: below it, seeds that happen to agree closely would flag any difference


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


def _usable(run: pd.Series) -> bool:
    result = run["overfitting"]
    return (
        run["suite"] == SUITE
        and run["status"] == "ok"
        and isinstance(result, dict)
        and "reason" not in result
    )


def reference_spec(configs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Each field's most common value over the distinct specs (seed ignored), see module doc."""
    distinct = [json.loads(k) for k in dict.fromkeys(config_key(c) for c in configs)]
    fields = dict.fromkeys(k for c in distinct for k in c)
    return {
        name: json.loads(Counter(json.dumps(c.get(name)) for c in distinct).most_common(1)[0][0])
        for name in fields
    }


def _level(name: str, value: Any) -> tuple[str, float]:
    """How a factor level is shown, and a number to order the levels by."""
    if name == "hidden":
        return "×".join(str(w) for w in value) or "none", float(max(value, default=0))
    return f"{value:g}", float(value)


def _placements(config: dict[str, Any], reference: dict[str, Any]) -> list[tuple[str, str, float]]:
    """(factor, level, order) rows for one run's spec; several for the reference, none if mixed."""
    diff = [k for k in set(config) | set(reference) if k != "seed" and config.get(k) != reference.get(k)]
    if not diff:
        rows = [(f, *_level(f, config[f])) for f in FACTORS if f != "cure"]
        return [*rows, ("cure", "none", 0.0), ("cure", "early stopping", 3.0)]
    if len(diff) > 1:
        return []
    (name,) = diff
    if name in CURES:
        return [("cure", f"{name.replace('_', ' ')} {config[name]:g}", 1.0 + CURES.index(name))]
    return [(name, *_level(name, config[name]))] if name in FACTORS else []


def _row(run: pd.Series, factor: str, level: str, order: float) -> dict[str, Any]:
    result = run["overfitting"]
    stop = result["early_stopping"]
    stopped = level == "early stopping"
    return {
        "run_id": run["run_id"],
        "label": run["label"],
        "seed": run["seed"],
        "factor": factor,
        "level": level,
        "order": order,
        "gap": stop["accuracy_gap"] if stopped else result["gap_final"]["accuracy_gap"],
        "onset_epoch": np.nan if stopped or result["onset_epoch"] is None else float(result["onset_epoch"]),
        "val_accuracy": stop["val_accuracy"] if stopped else stop["val_accuracy_final"],
        "test_accuracy": stop.get("test_accuracy") if stopped else run["test_accuracy"],
    }


def study_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (usable run, factor level it belongs to); empty when the suite is absent."""
    usable = [run for _, run in runs.iterrows() if _usable(run)] if not runs.empty else []
    reference = reference_spec([r["config"] for r in usable]) if usable else {}
    rows = [_row(r, *place) for r in usable for place in _placements(r["config"], reference)]
    columns = ["run_id", "label", "seed", "factor", "level", "order", "gap", "onset_epoch"]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=columns)


def agreement(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Per (factor, level): each framework's mean gap, the pooled seed spread, and whether they agree."""
    out = []
    ranked = frame.assign(rank=frame["factor"].map(FACTORS.index))
    for (_, factor, _, level), part in ranked.groupby(["rank", "factor", "order", "level"], sort=True):
        by_label = part.groupby("label")["gap"]
        means = by_label.mean()
        variances = by_label.var(ddof=1).dropna()
        pooled_sd = float(np.sqrt(variances.mean())) if len(variances) else np.nan
        allowed = 2 * max(pooled_sd if np.isfinite(pooled_sd) else 0.0, SPREAD_FLOOR)
        spread = float(means.max() - means.min())
        out.append(
            {
                "factor": FACTOR_NAMES[factor],
                "level": level,
                "means": {label: round(float(v), 3) for label, v in means.items()},
                "seed_sd": round(pooled_sd, 3) if np.isfinite(pooled_sd) else None,
                "spread": round(spread, 3),
                "agree": len(means) < 2 or spread <= allowed,
                "overfit": f"{int(part['onset_epoch'].notna().sum())}/{len(part)}",
            }
        )
    return out


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


def study_view(runs: pd.DataFrame) -> StudyView | None:
    """The study section's content, or ``None`` when no usable run of the suite is present."""
    frame = study_frame(runs)
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
    return {"study": study_view(data.frames.runs)}
