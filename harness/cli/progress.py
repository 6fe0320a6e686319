"""What a person sees while a plan runs: what is running, how many are done, time left,
and a summary table at the end. Output only; never part of a measurement. An
:class:`harness.run.runner.Observer`."""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.progress import Progress as _RichProgress
from rich.table import Table
from rich.text import Text

from harness.plan.budget import Estimate, Tracker
from harness.record.derived import beside_other_work, is_twin, unstable
from harness.record.format import is_number
from harness.record.keys import config_key, record_name
from harness.record.schema import STEP_MODEL_POINT, RunRecord
from harness.record.tally import Tally, short_reason, tally

INTERVAL_ENV = "MLPBENCH_PROGRESS_INTERVAL"  # seconds between plain progress lines (default 30)
DEFAULT_INTERVAL_S = 30.0


def duration(seconds: float) -> str:
    """``1h02m``, ``3m05s``, ``42s``; ``unknown`` for a time that is not a number."""
    if not math.isfinite(seconds):
        return "unknown"
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


def status_line(
    label: str, elapsed_s: float, done: int, total: int, ran: int | None = None, left_s: float | None = None
) -> str:
    """``[12/40 runs] 3m05s elapsed, about 7m12s left: mnist1d seed 0, round 4 of 20 done``; ``left_s``: the
    plan's own estimate (:class:`harness.plan.budget.Tracker`), else one from the runs done."""
    left = left_s if left_s is not None else time_left_s(elapsed_s, done, total, ran)
    eta = f"about {duration(left)} left" if left is not None else "time left unknown until a run ends"
    return f"[{done}/{total} runs] {duration(elapsed_s)} elapsed, {eta}: {label}"


class _Eta(ProgressColumn):
    """The rich bar's time left: the estimate the plain lines print (:meth:`Progress.left_s`)."""

    def __init__(self, left: Callable[[], float | None]) -> None:
        super().__init__()
        self.left = left

    def render(self, task: Task) -> Text:
        left = self.left()
        return Text(f"eta {duration(left)}" if left is not None else "eta -")


class Progress:
    """What a person sees while runs go on, on stderr: on a terminal a rich bar; elsewhere (a CI
    log) a plain line whenever a run starts a new stage and at least every
    ``$MLPBENCH_PROGRESS_INTERVAL`` seconds (30) while one goes on. Then a summary table on stdout.
    """

    def __init__(
        self,
        total: int,
        console: Console | None = None,
        interval_s: float | None = None,
        estimate: Estimate | None = None,
        foreseen: int = 0,
    ) -> None:
        self.console = console or Console(stderr=True)
        self.out = Console()
        # ``foreseen``: of ``total``, the runs the plan already said cannot run here: never counted,
        # so the first line counts what will run, and their records take nothing off it again
        self.total = total - foreseen
        self.foreseen = foreseen
        self.done_count = 0
        self.ran = 0  # runs that ran
        self.unavailable: dict[
            tuple[str, str], int
        ] = {}  # (device, reason) -> planned runs that could not run
        self.label = "starting"
        self.plain = not self.console.is_terminal
        self.interval_s = (
            interval_s if interval_s is not None else float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL_S))
        )
        self._started = time.monotonic()
        self.estimate = estimate
        self.tracker: Tracker | None = None
        self._last_line = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self.bar = _RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            _Eta(self.left_s),
            console=self.console,
            disable=self.plain,
        )
        self.task = self.bar.add_task("starting", total=total, ran=0)

    def __enter__(self) -> Progress:
        self._started = time.monotonic()
        if self.estimate is not None:
            self.tracker = Tracker(self.estimate, self._started)
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
            line = status_line(
                self.label, self._elapsed(), self.done_count, self.total, self.ran, self.left_s()
            )
            self.console.print(line, highlight=False, soft_wrap=True)

    def _heartbeat(self) -> None:
        while not self._stop.wait(min(1.0, self.interval_s / 4)):
            if time.monotonic() - self._last_line >= self.interval_s:
                self._line()

    def left_s(self) -> float | None:
        """Seconds left: the plan's phases as predicted and corrected so far (with an estimate),
        else the mean of the runs done times the runs left (``None`` before one ends)."""
        if self.tracker is not None:
            return self.tracker.left_s(time.monotonic())
        return time_left_s(self._elapsed(), self.done_count, self.total, self.ran)

    def phase(self, name: str) -> None:
        """A phase of the plan begins (the one before is over): what the time left is corrected by."""
        if self.tracker is not None:
            with self._lock:
                self.tracker.begin(name, time.monotonic())

    def log(self, message: str) -> None:
        self.console.print(message, highlight=False, soft_wrap=True)

    def start(self, label: str) -> None:
        self.label = label
        self.bar.update(self.task, description=label)
        if self.plain and time.monotonic() - self._last_line >= min(self.interval_s, 5.0):
            self._line()  # a new stage is worth a line, but not more than one every few seconds

    def done(self, record: RunRecord) -> None:
        if record.status == "unavailable":  # not a run: said once per reason, and taken off the total
            key = (record.device, short_reason(record.reason))
            if key not in self.unavailable and not self.foreseen:  # the plan's line said those already
                self.log(f"could not run here, recorded unavailable: {record.device}: {key[1]}")
            self.unavailable[key] = self.unavailable.get(key, 0) + 1
            self.skip()
            return
        if record.status != "ok":
            first_line = record.reason.splitlines()[0] if record.reason else ""
            self.console.print(f"[red]{record.status}[/red] {record.task}/{record.impl}: {first_line}")
        self.ran += 1
        self.done_count += 1
        self.bar.update(self.task, ran=self.ran)
        self.bar.advance(self.task)

    def grow(self, runs: int) -> None:
        """``runs`` more to do than planned (the A/B gate adds a process pair while undecided)."""
        self.total += runs
        self.bar.update(self.task, total=self.total)

    def add(self, estimate: Estimate, runs: int) -> None:
        """``runs`` more, added to the plan as it runs, with their phases as predicted (``estimate``)."""
        if self.tracker is not None:
            with self._lock:
                self.tracker.extend(estimate.phases)
        self.grow(runs)

    def skip(self) -> None:
        """A planned run that will not run (it could not run here): off the total, unless the plan
        already left it out of it (``foreseen``)."""
        if self.foreseen:
            self.foreseen -= 1
            return
        self.total -= 1
        self.bar.update(self.task, total=self.total)

    def summary(self, records: list[RunRecord], results_path: Path) -> None:
        """The table of what ran (the page's numbers), one count of the records, and where they are."""
        self._stop.set()
        self.bar.stop()
        counts = tally(records)
        self.out.print(summary_table(records, counts))
        self.out.print(counts.words(), soft_wrap=True, markup=False, highlight=False)
        self.out.print(f"written to {results_path}", soft_wrap=True, markup=False, highlight=False)
        marked = [r for r in records if r.status == "ok" and not is_twin(r)]
        marked = [r for r in marked if unstable(r) or beside_other_work(r)]
        if marked:
            self.out.print(
                f"{len(marked)} ok run(s) unstable or run beside other work (e.g. {record_name(marked[0])}): "
                "left out of the table above and of the report's tables and ratios, which list them apart",
                soft_wrap=True,
            )


def _ms(value: float) -> str:
    return f"{value * 1e3:.3f}" if is_number(value) else "-"


def summary_table(records: list[RunRecord], counts: Tally | None = None) -> Table:
    """What ran, one row per task (and spec variant), implementation, mode and device, with the
    numbers the report shows (:func:`harness.report.data.summary.group_stats`: the same runs left
    out, the same medians); devices where nothing could run are one line of the count below it, not
    rows. A variant of a task (another spec than its commonest) is marked ``[1]``, ``[2]``, ...
    and named under the table; runs for the step model alone are one line there, as on the page.
    Fits 80 columns with no name cut."""
    from harness.report.data.frame import build_frames  # pandas: only once a run is over
    from harness.report.data.summary import group_stats, sections

    counts = counts or tally(records)
    points = [r for r in records if r.purpose == STEP_MODEL_POINT and not is_twin(r)]
    stats = group_stats(build_frames([r for r in records if r.purpose != STEP_MODEL_POINT]))
    if not stats.empty:
        stats = stats[~stats["device"].isin(counts.devices_absent)]
    devices = sorted(set(stats["device"])) if not stats.empty else []
    table = Table(title="benchmark summary", box=box.SIMPLE_HEAD, pad_edge=False)
    names = ["task", "impl", "mode", "device", "ms/step", "ms/epoch+", "test acc", "runs"]
    for name in names:
        if name != "device" or len(devices) >= 2:
            table.add_column(name, justify="left" if name in names[:4] else "right", no_wrap=True)
    order = {key[1:]: i for i, (key, _) in enumerate(sections(stats))} if not stats.empty else {}
    variants = (
        {v: i for i, v in enumerate(sorted(set(stats["variant"]) - {""}), 1)} if not stats.empty else {}
    )
    rows = (
        stats.assign(_t=[order[k] for k in zip(stats["task"], stats["variant"], strict=True)]).sort_values(
            ["_t", "impl", "mode", "device"]
        )
        if order
        else stats
    )
    for _, row in rows.iterrows():
        ok = f"{row['n_ok']}/{row['n_runs']}" if row["n_ok"] or row["n_runs"] else "-"
        task = f"{row['task']} [{variants[row['variant']]}]" if row["variant"] else row["task"]
        cells = [task, row["impl"], row["mode"], *([row["device"]] if len(devices) >= 2 else [])]
        if not row["n_ok"]:  # the count below says why (unavailable, crashed, ...)
            table.add_row(*cells, "-", "-", "-", ok)
            continue
        acc = row["test_accuracy"]
        table.add_row(*cells, _ms(row["step_s"]), _ms(row.get("epoch_overhead_s")),
                      f"{acc:.4f}" if is_number(acc) else "-", ok)  # fmt: skip
    lines = ["ms/step: median time per step; ms/epoch+: epoch overhead (set-up before the first step)"]
    lines += [f"[{i}] {variant}" for variant, i in variants.items()]
    if points:
        networks = len({(r.task, config_key(r.config)) for r in points})
        lines.append(
            f"not in the table: {len(points)} runs of {networks} networks for the step model alone "
            "(the page's \"Where a step's time goes\"; python -m harness predict)"
        )
    table.caption, table.caption_justify = "\n".join(lines), "left"
    return table
