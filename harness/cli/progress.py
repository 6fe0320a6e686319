"""What a person sees while a plan runs: what is running, how many are done, time left,
and a summary table at the end. Output only; never part of a measurement. An
:class:`harness.run.runner.Observer`."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import Progress as _RichProgress
from rich.table import Table

from harness.record.derived import beside_other_work, is_twin, median, record_name, step_samples_s, unstable
from harness.record.schema import RunRecord


class Progress:
    """A progress bar over ``total`` runs (on stderr), then a summary table (on stdout)."""

    def __init__(self, total: int) -> None:
        self.console = Console(stderr=True)
        self.out = Console()
        self.bar = _RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.task = self.bar.add_task("starting", total=total)

    def __enter__(self) -> Progress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def log(self, message: str) -> None:
        self.bar.console.print(message, highlight=False)

    def start(self, label: str) -> None:
        self.bar.update(self.task, description=label)

    def done(self, record: RunRecord) -> None:
        if record.status not in ("ok", "unavailable"):
            first_line = record.reason.splitlines()[0] if record.reason else ""
            self.bar.console.print(f"[red]{record.status}[/red] {record.task}/{record.impl}: {first_line}")
        self.bar.advance(self.task)

    def skip(self) -> None:
        self.bar.advance(self.task)

    def summary(self, records: list[RunRecord], results_path: Path) -> None:
        """Print one row per (task, impl, mode, device): runs by status, step time, accuracy."""
        self.bar.stop()
        self.out.print(summary_table(records))
        counts = Counter(r.status for r in records)
        self.out.print(f"{len(records)} records ({dict(counts)}) written to {results_path}")
        marked = [r for r in records if r.status == "ok" and (unstable(r) or beside_other_work(r))]
        if marked:
            self.out.print(
                f"{len(marked)} ok run(s) unstable or run beside other work (e.g. {record_name(marked[0])}): "
                "the report lists them apart and leaves them out of its tables and ratios"
            )


def summary_table(records: list[RunRecord]) -> Table:
    """A rich table summarising ``records``: derived medians, never stored ones."""
    groups: dict[tuple[str, str, str, str], list[RunRecord]] = defaultdict(list)
    for record in records:
        if not is_twin(record):
            groups[record.key].append(record)
    twins = sum(map(is_twin, records))
    table = Table(title="benchmark summary", caption=f"{twins} A/A twin runs not listed" if twins else None)
    for column in ("task", "impl", "mode", "device", "runs", "step ms (median)", "test acc (mean)", "status"):
        table.add_column(column)
    for (task, impl, mode, device), group in sorted(groups.items()):
        ok = [r for r in group if r.status == "ok"]
        step_ms = median(s * 1e3 for r in ok for s in step_samples_s(r))
        accs = [r.test_accuracy for r in ok if r.test_accuracy is not None]
        statuses = ", ".join(f"{k}={v}" for k, v in Counter(r.status for r in group).items())
        table.add_row(
            task,
            impl,
            mode,
            device,
            str(len(group)),
            f"{step_ms:.3f}" if math.isfinite(step_ms) else "-",
            f"{sum(accs) / len(accs):.4f}" if accs else "-",
            statuses,
        )
    return table
