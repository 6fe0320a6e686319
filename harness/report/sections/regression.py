"""The regression check against each machine's committed baseline, formatted for the page.

The check itself is made once, in the data layer (:func:`harness.report.data.gather`): for every
machine with a baseline (``<results>/baselines/<machine_id>.jsonl``, or one of the same hardware
fingerprint), its newest run per pair, as ``python -m harness compare`` reads it, against the
baseline with :func:`harness.compare.check.check` under the default thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.compare.check import Comparison
from harness.compare.thresholds import DEFAULT_SPECS, METRICS
from harness.compare.verdicts import CANNOT_TELL, REGRESSION
from harness.record.format import fmt_value
from harness.report.comparison_text import format_estimate, resolution_lines
from harness.report.data import MachineCheck, ReportData


@dataclass
class RegressionRow:
    """One pair and metric of the comparison, formatted for the page."""

    pair: str
    metric: str
    statistic: str
    baseline: str
    current: str
    estimate: str
    estimate_value: float | None
    threshold: str
    status: str


@dataclass
class RegressionView:
    """One machine's check: where the baseline came from, the rows and the verdict sentence."""

    machine_id: str
    baseline_path: str
    expected_path: str
    sources: dict[str, str] = field(default_factory=dict)
    rows: list[RegressionRow] = field(default_factory=list)
    sentence: str = ""
    unmatched: list[str] = field(default_factory=list)
    noise: str = "not measured (python -m harness noise measures it)"
    resolution: list[str] = field(default_factory=list)  # how large a change would have shown


def _row(comparison: Comparison) -> RegressionRow:
    metric = METRICS[comparison.metric]
    finite = np.isfinite(comparison.estimate)
    return RegressionRow(
        pair=comparison.label,
        metric=metric.label,
        statistic=comparison.statistic,
        baseline=fmt_value(comparison.baseline_value, metric.unit),
        current=fmt_value(comparison.current_value, metric.unit),
        estimate=format_estimate(comparison),
        estimate_value=float(comparison.estimate) if finite else None,
        threshold=comparison.threshold.spec if comparison.threshold else "",
        status=_status(comparison),
    )


def _status(comparison: Comparison) -> str:
    """The row's verdict as the page says it: pass, pass (faster), regression, cannot tell, or
    empty for a metric shown without a limit."""
    if comparison.status is None:
        return ""
    return "pass (faster)" if comparison.improved else str(comparison.status)


def verdict_sentence(rows: Sequence[RegressionRow]) -> str:
    """``No regression beyond step_time:median:10%, test_accuracy:-0.01 ...`` or what regressed."""
    limits = ", ".join(DEFAULT_SPECS)
    n_pairs = len({r.pair for r in rows})
    regressed = [f"{r.pair} {r.metric} {r.estimate}" for r in rows if r.status == REGRESSION]
    unknown = [f"{r.pair} {r.metric}" for r in rows if r.status == CANNOT_TELL]
    if regressed:
        text = f"Regression beyond {limits}: {'; '.join(regressed)}."
    else:
        plural = "s" if n_pairs != 1 else ""
        text = f"Pass: no regression shown beyond {limits} ({n_pairs} pair{plural} compared)."
    if unknown:
        text += f" Cannot tell (too few pairs to know the noise between runs): {'; '.join(unknown)}."
    return text


def _view(results_dir: Path, found: MachineCheck) -> RegressionView:
    shown = found.baseline_path.relative_to(results_dir) if found.baseline_path is not None else ""
    view = RegressionView(found.machine_id, str(shown), str(found.expected_path.relative_to(results_dir)))
    if found.error:
        view.sentence = found.error
    if found.noise is not None:
        view.noise = found.noise.describe()
    if found.result is None:
        return view
    result = found.result
    view.sources = result.sources
    view.rows = [_row(c) for c in result.rows]
    view.resolution = resolution_lines(result.rows)
    view.unmatched = [f"{u.key.label}: only in {u.present_in} ({u.reason})" for u in result.unmatched]
    view.sentence = (
        verdict_sentence(view.rows)
        if view.rows
        else "No pair has ok runs in both the baseline and the newest run."
    )
    return view


def regression_views(results_dir: Path, checks: Sequence[MachineCheck]) -> list[RegressionView]:
    """One view per machine; a view without ``baseline_path`` had no baseline."""
    return [_view(Path(results_dir), found) for found in checks]


PART = "regression"  # its template: harness/report/render/templates/parts/regression.html.j2


def build(data: ReportData) -> dict[str, Any]:
    """The section's view: the names its template part reads, from the report's data."""
    return {"regression": regression_views(data.results_dir, data.checks)}
