"""The HTML comparison report: run records -> tidy DataFrames -> seaborn figures -> one HTML file.

``build_report(results_dir, out)`` reads ``<results>/runs/**.jsonl`` (run records) and
``<results>/benchmarks/*.json`` (pytest-benchmark output), compares each machine's newest run with
``<results>/baselines/<machine_id>.jsonl`` when there is one, and writes a single self-contained page
(figures embedded as PNG data URIs, no network needed) answering: which implementation is fastest
and most accurate for each task on each machine, by how much, and how sure are we.

Modules: :mod:`.frame` (records -> DataFrames), :mod:`.summary` (statistics per configuration),
:mod:`.tables` (the headline table), :mod:`.narrative` (sentences), :mod:`.figures` (drawing),
:mod:`.benchmarks` (pytest-benchmark files), :mod:`.study` (the overfitting study),
:mod:`.history` (metrics over commits), :mod:`.regression` (the check against the baseline),
:mod:`.environment` (machines, failures, skipped lines) and :mod:`.page` (sections and HTML).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from harness import policy, store
from harness.report import benchmarks, environment, figures, history, modes, page, regression, scaling, study
from harness.report.frame import build_frames
from harness.report.summary import group_stats

__all__ = ["build_report"]


def _records_dir(results_dir: Path) -> Path | None:
    runs = results_dir / store.RUNS_DIR
    if runs.is_dir():
        return runs
    return results_dir if any(results_dir.rglob("*.jsonl")) else None


def _microbench_uri(frame: pd.DataFrame) -> str:
    return figures.to_data_uri(figures.microbench_figure(frame)) if len(frame) else ""


def build_report(results_dir: Path, out: Path) -> str:
    """Build the report from ``results_dir`` into ``out`` (atomically); return a one-line summary.

    Unreadable record lines and benchmark files are skipped and listed on the page; a missing
    ``results_dir`` raises :class:`FileNotFoundError`.
    """
    results_dir, out = Path(results_dir), Path(out)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"results folder {results_dir} does not exist")
    records_dir = _records_dir(results_dir)
    records, skipped = store.load(records_dir) if records_dir else ([], [])
    frames = build_frames(records)
    stats = group_stats(frames)
    bench, sessions, bench_skipped = benchmarks.load_benchmarks(results_dir)
    machines = environment.machine_summaries(records, frames.runs) if records else []
    context = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "results_dir": str(results_dir),
        "n_records": len(records),
        "policy": policy.POLICY,
        "policy_flagged": policy.flagged(records),
        "sections": page.build_sections(frames, stats),
        "modes": modes.modes_views(stats),
        "scaling": scaling.scaling_views(records),
        "study": study.study_view(records),
        "history": history.history_views(records),
        "regression": regression.regression_views(results_dir, records),
        "machines": machines,
        "failed": environment.failed_runs(frames.runs),
        "skipped": environment.skipped_lines([*skipped, *bench_skipped], results_dir),
        "bench": benchmarks.benchmark_rows(bench),
        "bench_sessions": sessions,
        "bench_sentences": benchmarks.benchmark_sentences(bench),
        "bench_figure": _microbench_uri(bench),
    }
    page.write_html(page.render(context), out)
    n_machines = len(machines)
    return (
        f"wrote {out}: {len(records)} records ({len(skipped)} skipped) from {n_machines} "
        f"machine{'s' if n_machines != 1 else ''}, {len(bench)} micro-benchmarks"
    )
