"""The HTML comparison report: run records -> tidy DataFrames -> seaborn figures -> one HTML file.

``build_report(results_dir, out)`` reads ``<results>/runs/**.jsonl`` (run records) and
``<results>/benchmarks/*.json`` (pytest-benchmark output), compares each machine's newest run with
``<results>/baselines/<machine_id>.jsonl`` when there is one, and writes a single self-contained page
(figures embedded as PNG data URIs, no network needed) answering: which implementation is fastest
and most accurate for each task on each machine, by how much, and how sure are we.

The data flows one way: :mod:`.data` reads the folder once (frames, statistics, checks),
:mod:`.sections` turns it into one view per section (tables, sentences, and the figures it wants
as :class:`~harness.report.data.plot.Plot` requests: sections never draw), and :mod:`.render` draws
every figure and renders the page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from harness.errors import UsageError
from harness.report.data import gather, policy
from harness.report.render import figures, page
from harness.report.sections import (
    answer,
    api_styles,
    costs,
    environment,
    glossary,
    history,
    machines,
    modes,
    regression,
    scaling,
    study,
    tasks,
)

SECTIONS = (
    answer,
    tasks,
    machines,
    api_styles,
    costs,
    modes,
    scaling,
    history,
    regression,
    study,
    glossary,
    environment,
)


def build_report(results_dir: Path, out: Path, commit: str | None = None, run: str | None = None) -> str:
    """Build the report from ``results_dir`` into ``out`` (atomically); return a one-line summary.

    Unreadable record lines and benchmark files are skipped and listed on the page; a missing
    ``results_dir`` raises :class:`FileNotFoundError`.
    """
    results_dir, out = Path(results_dir), Path(out)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"results folder {results_dir} does not exist")
    data = gather(results_dir, commit, run)
    if not data.n_records:
        raise UsageError(
            f"no run records in {results_dir} (looked for runs/**/*.jsonl): run `python -m harness run` "
            "first, or name the folder that holds them with --results DIR"
        )
    context: dict = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "results_dir": str(results_dir),
        "n_records": data.n_records,
        "run_set": data.run_set,
        "policy": policy.POLICY,
        "policy_flagged": data.policy_flagged,
        "bench_sessions": data.bench_sessions,
        "aa": data.aa,
        "tally": data.tally,
    }
    for section in SECTIONS:  # one interface: the report's data in, the names of its part out
        context |= section.build(data)
    figures.draw_all(context)  # every figure the sections asked for, drawn here (sections never draw)
    page.write_html(page.render(context), out)
    n_machines = len(context["machines"])
    return (
        f"wrote {out}: {data.n_records} records ({len(data.skipped)} skipped) from {n_machines} "
        f"machine{'s' if n_machines != 1 else ''}, "
        f"{len(data.bench_sessions)} micro-benchmark session(s) (listed, not shown)"
    )
