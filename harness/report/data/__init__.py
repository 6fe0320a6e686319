"""Everything the report shows, gathered from the results folder in one pass: the records read
once (:mod:`.frame` turns them into tidy tables, :mod:`.summary` into per-configuration
statistics), the policy check, metrics over commits, each machine's regression check against its
committed baseline, and the pytest-benchmark sessions. Sections read this, never the files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.compare.changes import Change, detect
from harness.compare.check import CheckResult, check
from harness.compare.history import history_frame
from harness.errors import CompareInputError, UsageError
from harness.record.digest import Digest
from harness.record.schema import STEP_MODEL_POINT, RunRecord
from harness.record.tally import Tally, tally
from harness.report.data import benchmarks, policy, runset
from harness.report.data.frame import Frames, build_frames
from harness.report.data.paired import AAFigure, PairedIndex, SectionDevice, aa_figures
from harness.report.data.scaling import scaling_frame
from harness.report.data.study import study_frame
from harness.report.data.summary import group_stats
from harness.store import index, noise
from harness.store.baselines import baseline_for, baseline_path
from harness.store.noise import NoiseFloor
from harness.store.runs import (
    RUNS_DIR,
    RecordSet,
    Skipped,
    choose_runs,
    load_files,
    records_at,
    select_records,
)

INTERVAL_COMMITS = 30  # History: each machine's newest commits drawn with their 95% intervals


@dataclass
class MachineCheck:
    """One machine's regression check: its baseline (``None``: none committed) and the result."""

    machine_id: str
    expected_path: Path
    baseline_path: Path | None = None
    result: CheckResult | None = None
    error: str = ""
    noise: NoiseFloor | None = None


@dataclass
class ReportData:
    """The report's inputs, all read from one results folder."""

    results_dir: Path
    n_records: int
    run_set: runset.RunSet
    skipped: list[Skipped]
    frames: Frames
    stats: pd.DataFrame
    history: pd.DataFrame
    changes: list[Change]
    policy_flagged: list[dict[str, Any]]
    checks: list[MachineCheck]
    scaling: dict[tuple[str, str, str], pd.DataFrame]
    study: pd.DataFrame
    paired: PairedIndex
    aa: dict[SectionDevice, AAFigure] = field(default_factory=dict)
    tally: Tally = field(default_factory=lambda: tally([]))
    bench_sessions: list[benchmarks.Session] = field(default_factory=list)


def _records_dir(results_dir: Path) -> Path | None:
    runs = results_dir / RUNS_DIR
    if runs.is_dir():
        return runs
    return results_dir if any(results_dir.rglob("*.jsonl")) else None


def _checks(
    results_dir: Path,
    records_dir: Path,
    by_file: dict[Path, list[Digest]],
    load: Callable[[list[Path]], dict[Path, list[RunRecord]]],
) -> list[MachineCheck]:
    """Per machine: its newest run per pair (as ``harness compare`` reads it,
    :func:`~harness.store.runs.choose_runs`) against its baseline; only the files holding those
    runs are read."""
    machines = {d.machine_id: d.fingerprint for digests in by_file.values() for d in digests}
    out = []
    for machine, print_ in sorted(machines.items()):
        view = MachineCheck(machine, baseline_path(results_dir, machine))
        try:
            view.noise = noise.load(results_dir, machine)
        except UsageError as exc:
            view.error = str(exc)
        view.baseline_path = baseline_for(results_dir, machine, print_)
        if view.baseline_path is not None:
            chosen = choose_runs(by_file, "run per pair", machine=machine)
            files = sorted({f for f, _ in chosen}, key=lambda p: p.name)
            current = RecordSet(records_dir, records_at(chosen, load(files)), files)
            try:
                view.result = check(select_records(view.baseline_path), current)
            except CompareInputError as exc:
                view.error = f"The baseline could not be read: {exc}"
        out.append(view)
    return out


def gather(results_dir: Path, commit: str | None = None, run: str | None = None) -> ReportData:
    """Read ``results_dir`` once; unreadable lines and files are kept in ``skipped``. The tables
    answer for one run set (:mod:`.runset`: each machine's newest commit, or ``commit``, or the
    file ``run``), whose records are read whole; history and change points read every record's
    digest (:mod:`harness.store.index`), the regression checks the newest run per pair."""
    records_dir = _records_dir(results_dir)
    by_file, skipped, _ = index.load(records_dir, results_dir) if records_dir else ({}, [], None)
    cache: dict[Path, list[RunRecord]] = {}

    def load(files: list[Path]) -> dict[Path, list[RunRecord]]:
        missing = [f for f in files if f not in cache]
        cache.update(load_files(missing)[0])
        return {f: cache.get(f, []) for f in files}

    digests = [d for ds in by_file.values() for d in ds]
    current = runset.select(by_file, load, commit, run)
    # runs measured for the step model alone are read by "Where a step's time goes" (from the run
    # set's records), never as sections of their task
    frames = build_frames([r for r in current.records if r.purpose != STEP_MODEL_POINT])
    history = history_frame(digests, interval_commits=INTERVAL_COMMITS)
    sessions, bench_skipped = benchmarks.load_benchmarks(results_dir)
    return ReportData(
        results_dir=results_dir,
        n_records=len(digests),
        run_set=current,
        skipped=[*skipped, *bench_skipped],
        frames=frames,
        stats=group_stats(frames),
        history=history,
        changes=detect(history),
        policy_flagged=policy.flagged(current.records),
        checks=_checks(results_dir, records_dir, by_file, load) if records_dir else [],
        scaling=scaling_frame(frames.runs),
        study=study_frame(frames.runs),
        paired=PairedIndex(frames.rounds),
        aa=aa_figures(frames.rounds, frames.twins),
        bench_sessions=sessions,
        tally=tally(current.records),
    )
