"""Progress a CI log can read: without a terminal, plain lines (what runs, done/total, elapsed,
time left) at least every interval; on a terminal the rich bar, with the same estimate."""

from __future__ import annotations

import io
import time

from rich.console import Console

from harness.cli.progress import Progress, duration, status_line, time_left_s
from harness.record.schema import RunRecord


def _record() -> RunRecord:
    return RunRecord(task="iris", impl="torch", framework="torch", device="cpu", seed=0)


def test_the_estimate_and_its_words() -> None:
    assert time_left_s(60.0, 0, 10) is None
    assert time_left_s(60.0, 3, 10) == 140.0  # 20 s a run so far, seven left
    assert duration(42) == "42s" and duration(185) == "3m05s" and duration(3720) == "1h02m"
    line = status_line("mnist1d round 3", 185.0, 12, 40)
    assert line == "[12/40 runs] 3m05s elapsed, about 7m12s left: mnist1d round 3"
    assert "time left unknown" in status_line("starting", 3.0, 0, 40)
    # 128 gpu runs recorded unavailable at once (no GPU) and one real run in 12 s: 125 runs left
    assert time_left_s(12.0, 129, 254, ran=1) == 12.0 * 125
    assert time_left_s(12.0, 128, 254, ran=0) is None


def test_without_a_terminal_a_plain_line_comes_at_least_every_interval() -> None:
    log = io.StringIO()
    console = Console(file=log, force_terminal=False, width=200)
    with Progress(4, console=console, interval_s=0.2) as progress:
        progress.start("iris round 0")
        time.sleep(0.3)
        progress.done(_record())
        time.sleep(0.7)  # a long round: the heartbeat keeps the log alive
        quiet = log.getvalue().count("\n")
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("[0/4 runs] 0s elapsed, time left unknown")
    assert quiet >= 4, lines  # the first line, and heartbeats every 0.2 s
    assert any(line.startswith("[1/4 runs]") and "left: iris round 0" in line for line in lines), lines
    assert "\x1b[" not in log.getvalue()  # no terminal control codes in a log


def test_on_a_terminal_the_bar_shows_the_same_estimate() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    progress = Progress(4, console=console, interval_s=0.2)
    assert not progress.plain
    with progress:
        progress.start("digits round 1")
        progress.done(_record())
        time.sleep(0.2)
        progress.bar.refresh()
    assert "eta" in screen.getvalue() and "[1/4 runs]" not in screen.getvalue()


def test_the_total_grows_when_more_runs_are_added() -> None:
    log = io.StringIO()
    with Progress(4, console=Console(file=log, force_terminal=False, width=200), interval_s=60) as progress:
        for _ in range(4):
            progress.done(_record())
        progress.grow(4)  # the A/B gate adds a process pair
        progress.done(_record())
        progress._line()
    assert log.getvalue().splitlines()[-1].startswith("[5/8 runs]")
