"""The derived index (:mod:`harness.store.index`): the history from digests is the history from the
records; an index is made when missing, read when fresh, rebuilt when its record file changed, when
it is unreadable or from another index version, removed when its record file is gone, and never
needed: a folder it cannot be written to still reports."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pandas as pd
import pytest

from harness.compare.history import history_frame
from harness.record.schema import RunRecord, Timings
from harness.report.data import gather
from harness.store import index
from harness.store.runs import RUNS_DIR, RecordWriter, load

COMMITS = [f"{i:02d}" + "cd" * 19 for i in range(4)]


def _record(night: int, impl: str, seed: int, status: str = "ok") -> RunRecord:
    when = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(days=night, minutes=seed)
    step = 2e-3 * (1 + 0.1 * seed) * (1.2 if impl == "torch" and night == 3 else 1.0)
    return RunRecord(
        task="digits", impl=impl, framework=impl, device="cpu", seed=seed, status=status,
        reason="" if status == "ok" else "RuntimeError: boom",
        config={"batch_size": 64, "epochs": 5, "seed": seed},
        machine={"machine_id": "box-1", "fingerprint": "f" * 16, "cpu_model": "Test CPU"},
        git_commit=COMMITS[night], created_at=when.isoformat(timespec="seconds"),
        timings=Timings(epoch_s=[step * 10 * (1 + 0.01 * e) for e in range(4)], first_epoch_s=1.0),
        steps_per_epoch=10, n_train=640, test_accuracy=0.9 + 0.01 * seed,
        execution={"twin": seed == 2},
    )  # fmt: skip


@pytest.fixture
def results(tmp_path: Path) -> Path:
    for night in range(4):
        writer = RecordWriter(tmp_path, "box-1", COMMITS[night], f"night{night}")
        for seed in range(3):
            for impl in ("torch", "jax"):
                writer.append(_record(night, impl, seed))
        writer.append(_record(night, "numpy", 0, status="crashed"))
    return tmp_path


def _load(results: Path) -> tuple[dict, list, index.IndexStats]:
    return index.load(results / RUNS_DIR, results)


def _digests(by_file: dict) -> list:
    return [d for ds in by_file.values() for d in ds]


def test_the_history_from_the_index_is_the_history_from_the_records(results: Path) -> None:
    records, _ = load(results / RUNS_DIR)
    want = history_frame(records)
    made, _, stats = _load(results)
    assert stats.fresh == 0 and len(stats.rebuilt) == 4 and all("no index yet" in r for r in stats.rebuilt)
    read, _, stats = _load(results)
    assert stats.fresh == 4 and stats.rebuilt == []
    for by_file in (made, read):
        pd.testing.assert_frame_equal(history_frame(_digests(by_file)), want)
    assert len(_digests(read)) == len(records) == 28
    assert len(want[want["metric"] == "step_time"]) == 8  # 4 nights x 2 impls: twins and crashes left out


def test_a_record_appended_after_indexing_is_read(results: Path) -> None:
    _load(results)
    newest = sorted((results / RUNS_DIR / "box-1").glob("*.jsonl"))[-1]
    writer = RecordWriter(results, "box-1", COMMITS[3], "night3")
    writer.path, writer.count = newest, 1  # the run that wrote it appends once more
    writer.append(_record(3, "jax", 5))
    by_file, _, stats = _load(results)
    changed = f"runs/box-1/{newest.name}: the record file changed since it was indexed"
    assert stats.fresh == 3 and stats.rebuilt == [changed]
    assert len(by_file[newest]) == 8


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda b: b[: len(b) // 2], "unreadable index"),
        (lambda b: orjson.dumps({**orjson.loads(b), "version": 0}), "index version 0, this harness writes"),
        (lambda b: orjson.dumps({**orjson.loads(b), "digests": [{"task": "x"}]}), "malformed index"),
        (lambda b: b"[]", "index version None"),
    ],
)
def test_a_damaged_or_older_index_is_rebuilt_not_read(results: Path, damage, why: str) -> None:  # noqa: ANN001
    want = history_frame(_digests(_load(results)[0]))
    victim = sorted((results / index.INDEX_DIR).rglob("*.json"))[0]
    victim.write_bytes(damage(victim.read_bytes()))
    by_file, _, stats = _load(results)
    assert len(stats.rebuilt) == 1 and why in stats.rebuilt[0], stats.rebuilt
    pd.testing.assert_frame_equal(history_frame(_digests(by_file)), want)
    assert _load(results)[2].fresh == 4  # and written anew


def test_an_index_whose_records_are_gone_is_removed(results: Path) -> None:
    _load(results)
    oldest = sorted((results / RUNS_DIR / "box-1").glob("*.jsonl"))[0]
    oldest.unlink()
    by_file, _, stats = _load(results)
    assert stats.removed == 1 and len(by_file) == 3
    assert not index.index_path(results.resolve(), oldest.resolve()).exists()


def test_unreadable_lines_are_named_from_the_index_too(results: Path) -> None:
    newest = sorted((results / RUNS_DIR / "box-1").glob("*.jsonl"))[-1]
    with open(newest, "a") as handle:
        handle.write('{"task": "digits", "schema_version": 99}\n{"truncated": \n')
    for _ in range(2):  # made, then read
        _, skipped, _ = _load(results)
        assert [(s.path, s.line) for s in skipped] == [(newest, 8), (newest, 9)]
        assert "schema_version 99 is not supported" in skipped[0].reason


def test_a_folder_the_index_cannot_be_written_to_still_reports(results: Path, monkeypatch) -> None:  # noqa: ANN001
    def refuse(path, data, **kwargs):  # noqa: ANN001, ANN202, ARG001
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(index, "write_atomic", refuse)
    by_file, _, stats = _load(results)
    assert "Permission denied" in stats.unwritable and len(_digests(by_file)) == 28
    assert not (results / index.INDEX_DIR).exists()
    assert gather(results).n_records == 28


def test_the_report_reads_whole_only_the_records_its_tables_show(results: Path, monkeypatch) -> None:  # noqa: ANN001
    from harness.report import data as report_data

    _load(results)
    read: list[Path] = []
    real = report_data.load_files

    def spy(files):  # noqa: ANN001, ANN202
        read.extend(files)
        return real(files)

    monkeypatch.setattr(report_data, "load_files", spy)
    data = gather(results)
    assert [f.name for f in read] == [sorted(os.listdir(results / RUNS_DIR / "box-1"))[-1]]
    assert data.n_records == 28 and data.history["git_commit"].nunique() == 4
