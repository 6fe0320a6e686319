"""Records round-trip; the store appends atomically, never overwrites, and skips bad lines."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from harness.record.schema import SCHEMA_VERSION, RecordError, RunRecord
from harness.store import runs as store


def _record(**changes) -> RunRecord:
    record = RunRecord(task="iris", impl="torch", framework="torch", device="cpu", seed=0)
    for key, value in changes.items():
        setattr(record, key, value)
    return record


def test_round_trip_keeps_every_field() -> None:
    record = _record(test_accuracy=0.97)
    record.timings.epoch_s = [0.1, 0.2]
    record.history.val_loss = [1.0, 0.5]
    again = RunRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record and again.schema_version == SCHEMA_VERSION


def test_non_finite_values_are_stored_as_null() -> None:
    record = _record(status="diverged")
    record.history.train_loss = [1.0, math.nan, math.inf]
    assert record.to_dict()["history"]["train_loss"] == [1.0, None, None]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"schema_version": 99}, "schema_version 99"),
        ({"schema_version": SCHEMA_VERSION, "task": "iris"}, "missing field"),
        ([1, 2], "JSON object"),
    ],
)
def test_invalid_records_are_refused(data: object, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        RunRecord.from_dict(data)  # type: ignore[arg-type]


def test_bad_status_is_refused() -> None:
    data = _record().to_dict() | {"status": "great"}
    with pytest.raises(RecordError, match="not one of ok, diverged"):
        RunRecord.from_dict(data)


def test_writer_appends_and_never_reuses_a_file(tmp_path: Path) -> None:
    first = store.RecordWriter(tmp_path, "m1", "abc", "smoke")
    first.append(_record(seed=0))
    first.append(_record(seed=1))
    second = store.RecordWriter(tmp_path, "m1", "abc", "smoke")
    second.append(_record(seed=2))
    assert first.path != second.path
    records, skipped = store.load(tmp_path)
    assert sorted(r.seed for r in records) == [0, 1, 2] and skipped == []
    assert len(first.path.read_text().splitlines()) == 2


def test_failed_append_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    writer = store.RecordWriter(tmp_path, "m1", "abc", "smoke")
    writer.append(_record(seed=0))
    before = writer.path.read_bytes()
    broken = _record(seed=1)
    broken.extra = {"unserialisable": object()}
    with pytest.raises(TypeError):
        writer.append(broken)
    assert writer.path.read_bytes() == before
    assert not list(writer.path.parent.glob(".*.part"))


def test_bad_lines_are_skipped_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    good = json.dumps(_record().to_dict())
    path.write_text(good + "\n{not json\n" + json.dumps({"schema_version": 0}) + "\n" + good + "\n")
    records, skipped = store.load(path)
    assert len(records) == 2
    assert [(s.path, s.line) for s in skipped] == [(path, 2), (path, 3)]
    assert "JSONDecodeError" in skipped[0].reason and "schema_version" in skipped[1].reason


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        store.load(tmp_path / "nope")
