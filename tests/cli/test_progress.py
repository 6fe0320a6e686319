"""Progress a CI log can read: without a terminal, plain lines (what runs, done/total, elapsed,
time left) at least every interval; on a terminal the rich bar, with the same estimate."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from harness.cli.progress import Progress, duration, status_line, time_left_s
from harness.record.schema import RunRecord

pytestmark = pytest.mark.alone  # heartbeats counted against the wall clock


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


def test_runs_that_cannot_run_here_are_said_once_and_not_counted() -> None:
    """The count the page and the summary give: runs that could not run here (no GPU) are not runs
    done, nor runs to wait for; the log says why once per reason."""
    log = io.StringIO()
    gpu = RunRecord(task="iris", impl="torch", framework="torch", device="gpu", seed=0, status="unavailable",
                    reason="no NVIDIA driver on this machine (nvidia-smi not found)")  # fmt: skip
    with Progress(6, console=Console(file=log, force_terminal=False, width=200), interval_s=60) as progress:
        progress.done(gpu)
        progress.skip()  # its other seeds: one record says it
        progress.done(gpu)
        progress.done(_record())
        progress._line()
    lines = log.getvalue().splitlines()
    assert lines[-1].startswith("[1/3 runs]"), lines
    assert sum("could not run here" in line for line in lines) == 1, lines


def test_the_summary_fits_80_columns_and_says_each_count_once() -> None:
    """A real default bench as a CI log shows it: no line over 80 characters, no name cut, no row
    per run that could not run here (one line says so), the page's step times."""
    from pathlib import Path

    from harness.report.data.frame import build_frames
    from harness.report.data.summary import group_stats
    from harness.store import runs as store

    records, _ = store.load(Path(__file__).parents[1] / "data" / "records_default")
    out = io.StringIO()
    progress = Progress(len(records), console=Console(file=io.StringIO(), width=80), interval_s=60)
    progress.out = Console(file=out, width=80, force_terminal=False)
    progress.summary(records, Path("results/runs/box/file.jsonl"))
    lines = out.getvalue().splitlines()
    table = [line for line in lines if line.startswith(" ")]
    assert all(len(line) <= 80 for line in table) and "…" not in out.getvalue(), table
    assert not any(" gpu " in line for line in table)  # no GPU here: a count, not 60 rows
    count = "226 records: 150 runs ok, 14 A/A twin runs; 62 could not run here (gpu, 60: no NVIDIA"
    assert any(line.startswith(count) for line in lines), lines  # two reasons: each with its count
    stats = group_stats(build_frames(records))
    keras = stats[(stats["task"] == "mnist1d") & (stats["impl"] == "keras") & (stats["mode"] == "default")]
    row = next(line for line in table if line.split()[:3] == ["mnist1d", "keras", "default"])
    assert row.split()[3] == f"{keras['step_s'].iloc[0] * 1e3:.3f}"  # the page's median, left-out runs out
