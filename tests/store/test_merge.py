"""Merging shard results: one plan's records into one store; duplicates, other plans and other
schemas refused with the file names, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.errors import UsageError
from harness.record.schema import RunRecord, Timings
from harness.store.merge import merge
from harness.store.runs import RecordWriter, load


def _record(seed: int, plan: str = "p1", machine: str = "box-1") -> RunRecord:
    return RunRecord(
        task="iris", impl="jax", framework="jax", device="cpu", seed=seed,
        machine={"machine_id": machine}, git_commit="abc", timings=Timings(epoch_s=[0.1]),
        provenance={"plan_id": plan, "shard": f"{seed % 2 + 1}/2"},
    )  # fmt: skip


def _shard(root: Path, *records: RunRecord) -> Path:
    for record in records:
        RecordWriter(root, record.machine["machine_id"], "abc", "default").append(record)
    return root


def test_merge_writes_every_record_once_per_machine(tmp_path: Path) -> None:
    a = _shard(tmp_path / "shard1", _record(0), _record(2))
    b = _shard(tmp_path / "shard2", _record(1), _record(3, machine="box-2"))
    out = merge([a, b], tmp_path / "merged")
    assert [p.parent.name for p in out] == ["box-1", "box-2"]
    records, skipped = load(tmp_path / "merged")
    assert skipped == [] and sorted(r.seed for r in records) == [0, 1, 2, 3]


def test_a_run_merged_twice_is_refused_naming_both_files(tmp_path: Path) -> None:
    record = _record(0)
    a = _shard(tmp_path / "shard1", record)
    b = _shard(tmp_path / "shard2", record)
    with pytest.raises(UsageError, match=f"run {record.run_id} is in both .*shard1.* and .*shard2"):
        merge([a, b], tmp_path / "merged")
    assert not (tmp_path / "merged").exists()


def test_other_plans_and_other_schemas_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    a = _shard(tmp_path / "shard1", _record(0))
    b = _shard(tmp_path / "shard2", _record(1, plan="p2"))
    with pytest.raises(UsageError, match="different plans"):
        merge([a, b], tmp_path / "merged")
    old = tmp_path / "old" / "runs.jsonl"
    old.parent.mkdir()
    old.write_text(json.dumps({**_record(5).to_dict(), "schema_version": 0}) + "\n")
    assert main(["merge", str(a), str(old), "--results", str(tmp_path / "merged")]) == 2
    assert "schema_version 0" in capsys.readouterr().err
    assert not (tmp_path / "merged").exists()
