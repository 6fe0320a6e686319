"""The regression check against each machine's committed baseline, read from stored records only.

For every machine in the report with a baseline (``<results>/baselines/<machine_id>.jsonl``, or
one of the same hardware fingerprint: :func:`harness.baselines.baseline_for`), its newest run
(for each pair, the newest run file holding it, as ``python -m harness compare`` reads it) is
compared with :func:`harness.compare.compare_records` under the default thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness import baselines, store
from harness.compare import (
    REGRESSED,
    UNCLEAR,
    CompareInputError,
    Comparison,
    compare_records,
    unmatched_pairs,
)
from harness.compare_table import format_estimate, format_value
from harness.records import RunRecord
from harness.report.tables import fmt_seconds
from harness.thresholds import DEFAULT_SPECS, METRICS


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


def _machines(records: Sequence[RunRecord]) -> dict[str, str]:
    """machine_id -> hardware fingerprint, for every machine with a ``machine_id``."""
    out: dict[str, str] = {}
    for record in records:
        machine_id = str(record.machine.get("machine_id") or "")
        if machine_id:
            out.setdefault(machine_id, str(record.machine.get("fingerprint") or ""))
    return dict(sorted(out.items()))


def _value(value: float, unit: str) -> str:
    return fmt_seconds(value) if unit == "s" else format_value(value, unit)


def _row(comparison: Comparison) -> RegressionRow:
    metric = METRICS[comparison.metric]
    finite = np.isfinite(comparison.estimate)
    return RegressionRow(
        pair=comparison.label,
        metric=metric.label,
        statistic=comparison.statistic,
        baseline=_value(comparison.baseline_value, metric.unit),
        current=_value(comparison.current_value, metric.unit),
        estimate=format_estimate(comparison),
        estimate_value=float(comparison.estimate) if finite else None,
        threshold=comparison.threshold.spec if comparison.threshold else "",
        status=comparison.status,
    )


def verdict_sentence(rows: Sequence[RegressionRow]) -> str:
    """``No regression beyond step_time:median:10%, test_accuracy:-0.01 ...`` or what regressed."""
    limits = ", ".join(DEFAULT_SPECS)
    n_pairs = len({r.pair for r in rows})
    regressed = [f"{r.pair} {r.metric} {r.estimate}" for r in rows if r.status == REGRESSED]
    unclear = [f"{r.pair} {r.metric} {r.estimate}" for r in rows if r.status == UNCLEAR]
    if regressed:
        text = f"Regressed beyond {limits}: {'; '.join(regressed)}."
    else:
        text = f"No regression beyond {limits} ({n_pairs} pair{'s' if n_pairs != 1 else ''} compared)."
    if unclear:
        text += (
            f" Unclear (beyond a limit but within the noise; rerun with more seeds): {'; '.join(unclear)}."
        )
    return text


def _current(results_dir: Path, machine_id: str, records: Sequence[RunRecord]) -> baselines.Side:
    """The newest run per pair from ``<results>/runs``; without that folder, every loaded record."""
    runs = results_dir / store.RUNS_DIR
    if runs.is_dir():
        side = baselines.select_records(runs, machine_id)
    else:
        side = baselines.Side(results_dir, list(records), [])
    side.records = [r for r in side.records if r.machine.get("machine_id") == machine_id]
    return side


def _machine_view(
    results_dir: Path,
    machine_id: str,
    fingerprint: str,
    records: Sequence[RunRecord],
) -> RegressionView:
    expected = baselines.baseline_path(results_dir, machine_id)
    found = baselines.baseline_for(results_dir, machine_id, fingerprint)
    shown = found.relative_to(results_dir) if found is not None else ""
    view = RegressionView(machine_id, str(shown), str(expected.relative_to(results_dir)))
    if found is None:
        return view
    try:
        base, cur = baselines.select_records(found), _current(results_dir, machine_id, records)
    except CompareInputError as exc:
        view.sentence = f"The baseline could not be read: {exc}"
        return view
    view.sources = {"baseline": base.describe(), "current": cur.describe()}
    view.rows = [_row(c) for c in compare_records(base.records, cur.records)]
    view.unmatched = [
        f"{u.key.label}: only in {u.present_in} ({u.reason})"
        for u in unmatched_pairs(base.records, cur.records)
    ]
    view.sentence = (
        verdict_sentence(view.rows)
        if view.rows
        else "No pair has ok runs in both the baseline and the newest run."
    )
    return view


def regression_views(results_dir: Path, records: Sequence[RunRecord]) -> list[RegressionView]:
    """One view per machine of ``records``; a view without ``baseline_path`` had no baseline."""
    return [
        _machine_view(Path(results_dir), machine_id, fingerprint, records)
        for machine_id, fingerprint in _machines(records).items()
    ]
