"""What a person sees while a plan runs: what is running, how many are done, time left,
and a summary table at the end. Output only; never part of a measurement. An
:class:`harness.run.runner.Observer`."""

from __future__ import annotations

import math
import os
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.progress import Progress as _RichProgress
from rich.table import Table
from rich.text import Text

from harness.record.derived import beside_other_work, is_twin, median, record_name, step_samples_s, unstable
from harness.record.schema import RunRecord

INTERVAL_ENV = "MLPBENCH_PROGRESS_INTERVAL"  # seconds between plain progress lines (default 30)
DEFAULT_INTERVAL_S = 30.0


def duration(seconds: float) -> str:
    """``1h02m``, ``3m05s``, ``42s``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def time_left_s(elapsed_s: float, done: int, total: int, ran: int | None = None) -> float | None:
    """The estimate both views show: the mean time of the runs that ran so far (``ran``; default
    all ``done``: runs found unavailable before they start take no time and are not counted) times
    the runs left; ``None`` before the first run that ran ends."""
    ran = done if ran is None else ran
    if ran <= 0:
        return None
    return elapsed_s / ran * max(0, total - done)


def status_line(label: str, elapsed_s: float, done: int, total: int, ran: int | None = None) -> str:
    """``[12/40 runs] 3m05s elapsed, about 7m12s left: running mnist1d round 3``."""
    left = time_left_s(elapsed_s, done, total, ran)
    eta = f"about {duration(left)} left" if left is not None else "time left unknown until a run ends"
    return f"[{done}/{total} runs] {duration(elapsed_s)} elapsed, {eta}: {label}"


class _Eta(ProgressColumn):
    """The rich bar's time left: :func:`time_left_s`, the estimate the plain lines print."""

    def render(self, task: Task) -> Text:
        ran = int(task.fields.get("ran", task.completed))
        left = time_left_s(task.elapsed or 0.0, int(task.completed), int(task.total or 0), ran)
        return Text(f"eta {duration(left)}" if left is not None else "eta -")


class Progress:
    """What a person sees while runs go on, on stderr: on a terminal a rich bar; elsewhere (a CI
    log) a plain line whenever a run starts a new stage and at least every
    ``$MLPBENCH_PROGRESS_INTERVAL`` seconds (30) while one goes on. Then a summary table on stdout.
    """

    def __init__(self, total: int, console: Console | None = None, interval_s: float | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.out = Console()
        self.total = total
        self.done_count = 0
        self.ran = 0  # runs that ran (not found unavailable before starting)
        self.label = "starting"
        self.plain = not self.console.is_terminal
        self.interval_s = (
            interval_s if interval_s is not None else float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL_S))
        )
        self._started = time.monotonic()
        self._last_line = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self.bar = _RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            _Eta(),
            console=self.console,
            disable=self.plain,
        )
        self.task = self.bar.add_task("starting", total=total, ran=0)

    def __enter__(self) -> Progress:
        self._started = time.monotonic()
        if self.plain:
            self._line()
            self._beat = threading.Thread(target=self._heartbeat, name="progress", daemon=True)
            self._beat.start()
        else:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.bar.stop()

    def _elapsed(self) -> float:
        return time.monotonic() - self._started

    def _line(self) -> None:
        with self._lock:
            self._last_line = time.monotonic()
            line = status_line(self.label, self._elapsed(), self.done_count, self.total, self.ran)
            self.console.print(line, highlight=False, soft_wrap=True)

    def _heartbeat(self) -> None:
        while not self._stop.wait(min(1.0, self.interval_s / 4)):
            if time.monotonic() - self._last_line >= self.interval_s:
                self._line()

    def log(self, message: str) -> None:
        self.console.print(message, highlight=False, soft_wrap=True)

    def start(self, label: str) -> None:
        self.label = label
        self.bar.update(self.task, description=label)
        if self.plain and time.monotonic() - self._last_line >= min(self.interval_s, 5.0):
            self._line()  # a new stage is worth a line, but not more than one every few seconds

    def done(self, record: RunRecord) -> None:
        if record.status not in ("ok", "unavailable"):
            first_line = record.reason.splitlines()[0] if record.reason else ""
            self.console.print(f"[red]{record.status}[/red] {record.task}/{record.impl}: {first_line}")
        if record.status != "unavailable":
            self.ran += 1
            self.bar.update(self.task, ran=self.ran)
        self.skip()

    def grow(self, runs: int) -> None:
        """``runs`` more to do than planned (the A/B gate adds a process pair while undecided)."""
        self.total += runs
        self.bar.update(self.task, total=self.total)

    def skip(self) -> None:
        self.done_count += 1
        self.bar.advance(self.task)

    def summary(self, records: list[RunRecord], results_path: Path) -> None:
        """Print one row per (task, impl, mode, device): runs by status, step time, accuracy."""
        self._stop.set()
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
