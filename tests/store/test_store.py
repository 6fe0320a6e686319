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
    record.curves.val_loss = [1.0, 0.5]
    again = RunRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record and again.schema_version == SCHEMA_VERSION


def test_non_finite_values_are_stored_as_null() -> None:
    record = _record(status="diverged")
    record.curves.train_loss = [1.0, math.nan, math.inf]
    assert record.to_dict()["curves"]["train_loss"] == [1.0, None, None]


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


def test_a_version_1_record_is_migrated_as_it_is_read() -> None:
    """Version 1 stored figures derived from the run (``efficiency``'s achieved FLOP/s and
    fraction of peak, ``extra["overfitting"]``); read now, only the calibration's raw rates stay,
    and the derived figures come back, equal, from reading."""
    from harness.record import derived, overfitting
    from harness.record.schema import Curves, Timings

    history = Curves([1.0, 0.6, 0.4], [0.5, 0.7, 0.8], [1.1, 0.8, 0.9], [0.5, 0.6, 0.55])
    timings = Timings(epoch_s=[0.5, 0.5], first_epoch_s=1.0)
    record = RunRecord(task="iris", impl="jax", framework="jax", device="cpu", seed=0,
                       timings=timings, curves=history, n_train=100, steps_per_epoch=10,
                       train_flops_per_sample=1_000_000)  # fmt: skip
    old = record.to_dict() | {"schema_version": 1}
    old["history"] = old.pop("curves")
    del old["calibration"], old["provenance"]
    old["efficiency"] = {"achieved_flops_per_s": 2e8, "step_s": 0.05, "peak_flops_per_s": 4e9,
                         "peak_engine": "torch", "fraction_of_peak": 0.05, "dispatch_s": 1e-4,
                         "engine": "jax", "step_in_dispatches": 500.0}  # fmt: skip
    old["extra"] = {"overfitting": overfitting.analyse(history), "note": "kept"}
    again = RunRecord.from_dict(json.loads(json.dumps(old)))
    assert again.schema_version == SCHEMA_VERSION == 3 and again.curves == history
    assert again.calibration == {"peak_flops_per_s": 4e9, "peak_engine": "torch", "dispatch_s": 1e-4,
                                 "engine": "jax"}  # fmt: skip
    assert again.extra == {"note": "kept"}
    eff = derived.efficiency(again)
    for key in ("achieved_flops_per_s", "step_s", "fraction_of_peak", "step_in_dispatches"):
        assert eff[key] == pytest.approx(old["efficiency"][key]), key
    assert derived.overfitting_of(again) == old["extra"]["overfitting"]


def test_a_version_2_record_is_migrated_as_it_is_read() -> None:
    """Version 2 called the per-epoch curves ``history`` and kept the plan's and the A/B gate's
    facts, and an implementation's own, among ``execution``'s keys; read now, each is where
    version 3 keeps it, and nothing is lost."""
    from harness.record import execution

    old = RunRecord(task="mnist", impl="keras", framework="keras", device="cpu", seed=1).to_dict()
    old |= {"schema_version": 2, "history": old.pop("curves") | {"val_accuracy": [0.9, 0.95]}}
    del old["provenance"]
    plan = {"plan_id": "0c3a002e2783", "shard": "", "order_seed": 7, "budget_s": 470.0, "left_out": ["x"]}
    gate = {"ab_pair": 2, "ab_source": "main", "ab_first_side": "B"}
    own = {"keras_backend": "tensorflow", "jit_compile": True, "steps_per_execution": 1, "plugin_x": 3}
    harness_facts = {"mode": "default", "group": "g1", "side": "A", "requested_threads": 2, "twin": True}
    old["execution"] = plan | gate | own | harness_facts
    again = RunRecord.from_dict(json.loads(json.dumps(old)))
    assert again.schema_version == 3 and again.curves.val_accuracy == [0.9, 0.95]
    assert again.provenance == plan | gate
    assert again.execution == harness_facts | {"plugin": own}
    assert execution.problems(again.execution) == []
    assert execution.problems(again.provenance, execution.PROVENANCE) == []
    assert RunRecord.from_dict(again.to_dict()).to_dict() == again.to_dict()  # version 3 reads as written


def test_a_run_that_did_not_finish_says_why() -> None:
    record = RunRecord(task="iris", impl="jax", framework="jax", device="cpu", seed=0)
    assert record.ended("timeout", "no answer within 5 s").status == "timeout"
    with pytest.raises(ValueError, match="one of diverged, crashed, timeout, unavailable"):
        record.ended("ok", "fine")
    with pytest.raises(ValueError, match="must say why"):
        record.ended("crashed", "")
