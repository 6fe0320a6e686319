"""The tables answer for one run set: over nights of history, each machine's newest commit (or the
commit or file asked for), and the page says which; history still reads every night."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.record.schema import RunRecord, Timings
from harness.report.build import build_report
from harness.report.data import gather
from harness.store.runs import RecordWriter

COMMITS = [f"{i:02d}" + "ab" * 19 for i in range(6)]


def _record(night: int, impl: str, step_s: float, seed: int) -> RunRecord:
    when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=night, minutes=seed)
    return RunRecord(
        task="digits", impl=impl, framework=impl, device="cpu", seed=seed,
        config={"batch_size": 64, "epochs": 5}, machine={"machine_id": "box-1", "fingerprint": "f" * 16},
        git_commit=COMMITS[night], created_at=when.isoformat(timespec="seconds"),
        timings=Timings(epoch_s=[step_s * 10] * 4, first_epoch_s=1.0), steps_per_epoch=10, n_train=640,
        test_accuracy=0.9,
    )  # fmt: skip


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """Six nights; torch 30% slower on the newest."""
    for night in range(6):
        writer = RecordWriter(tmp_path, "box-1", COMMITS[night], f"night{night}")
        for seed in range(2):
            writer.append(_record(night, "torch", 2e-3 * (1.3 if night == 5 else 1.0), seed))
            writer.append(_record(night, "jax", 2e-3, seed))
    return tmp_path


def test_the_tables_hold_only_the_newest_commit_and_history_every_night(results: Path) -> None:
    data = gather(results)
    assert set(data.frames.runs["git_commit"]) == {COMMITS[5]}
    assert len(data.frames.runs) == 4 and data.n_records == 24
    assert data.run_set.left_out == 20 and data.run_set.left_out_commits == 5
    assert (
        "commit " + COMMITS[5][:12] in data.run_set.lines[0] and "5 other commit(s)" in data.run_set.lines[0]
    )
    assert data.history["git_commit"].nunique() == 6  # history spans the nights
    torch = data.stats[data.stats["impl"] == "torch"]["step_s"].iloc[0]
    assert torch == pytest.approx(2.6e-3)  # the newest night's step, not a median over six


def test_a_commit_or_a_file_picks_another_run_set(results: Path, tmp_path: Path) -> None:
    assert set(gather(results, commit=COMMITS[2][:8]).frames.runs["git_commit"]) == {COMMITS[2]}
    night3 = next((results / "runs" / "box-1").glob("*night3.jsonl"))
    assert set(gather(results, run=night3.name).frames.runs["git_commit"]) == {COMMITS[3]}
    with pytest.raises(UsageError, match="no records of a commit starting 'ffff'; commits here include"):
        gather(results, commit="ffff")
    with pytest.raises(UsageError, match="no record file named 'nope'"):
        gather(results, run="nope")
    html = tmp_path / "r.html"
    build_report(results, html)
    page = html.read_text()
    text = re.sub(r"<[^>]+>", "", page)  # the glossary links a term's first use
    assert "The tables answer for one run set" in text and f"commit {COMMITS[5][:12]}" in page
    assert page.index('id="answer"') < page.index('id="run-set"')


def test_the_page_says_what_the_full_suite_runs_that_this_set_did_not() -> None:
    from harness.report.data.runset import not_run

    records = [_record(0, "torch", 2e-3, seed) for seed in range(2)]
    assert not_run(records) == []  # no suite named: nothing to hold it against
    for record in records:
        record.suite = "default"
    (line,) = [x for x in not_run(records) if x.startswith("digits:")]
    assert "seeds 0, 1, 2, 3, 4" in line and "20 epochs (here 5)" in line
    records[0].task = records[1].task = "iris"  # the full suite also runs iris single-layer
    (line,) = [x for x in not_run(records) if x.startswith("iris:")]
    assert line.endswith("variants hidden=[])")  # as --set takes it, never a dict's repr
    for record in records:
        record.suite = "full"
    assert not_run(records) == []


def test_a_run_set_is_dated_from_its_first_start_to_its_last_end(tmp_path: Path) -> None:
    """The last group (MNIST, say) started at 11:13 and ended at 11:18: the run set ends at 11:18,
    not at its last start; records from before ``finished_at`` was kept end at their start."""
    writer = RecordWriter(tmp_path, "box-1", COMMITS[0], "one")
    first, last = _record(0, "torch", 2e-3, 0), _record(0, "jax", 2e-3, 13)
    ended = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=18)
    last.finished_at = ended.isoformat(timespec="seconds")
    for record in (first, last):
        writer.append(record)
    (line,) = gather(tmp_path).run_set.lines
    assert "2026-01-01 00:00 to 2026-01-01 00:18 UTC" in line, line
