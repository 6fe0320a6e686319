"""The fairness policy check: what counts as a departure, and the report's policy section."""

from __future__ import annotations

from pathlib import Path

from harness.record.schema import RunRecord, Timings
from harness.report.build import build_report
from harness.report.data import policy


def _record(impl: str = "torch", seed: int = 0, **execution: object) -> RunRecord:
    base = {"requested_threads": 2, "intra_op_threads": 2, "tf32": False, "matmul_precision": "highest"}
    return RunRecord(
        task="iris",
        impl=impl,
        framework=impl,
        device="cpu",
        seed=seed,
        config={"dtype": "float32", "batch_size": 16},
        machine={"machine_id": "box-1", "fingerprint": "f" * 16},
        execution=base | execution,
        timings=Timings(epoch_s=[0.01, 0.01], first_epoch_s=0.02),
        steps_per_epoch=6,
        n_train=90,
    )


def test_a_record_that_follows_the_policy_has_no_deviation() -> None:
    assert policy.deviations(_record(), 2) == []
    assert policy.deviations(_record(matmul_precision="float32"), 2) == []


def test_an_engine_that_sets_no_thread_count_departs_from_the_policy() -> None:
    assert policy.deviations(_record(intra_op_threads=None), 2) == [
        "no thread count set or read back (2 requested)"
    ]


def test_each_departure_is_named() -> None:
    assert policy.deviations(_record(requested_threads=1, intra_op_threads=1), 2) == [
        "ran with 1 threads, the others with 2"
    ]
    assert policy.deviations(_record(intra_op_threads=4), 2) == ["intra-op threads read back 4, 2 requested"]
    assert policy.deviations(_record(tf32=True), 2) == ["TF32 was on"]
    assert policy.deviations(_record(matmul_precision="bfloat16_3x"), 2) == [
        "matmul precision 'bfloat16_3x', not full float32"
    ]


def test_the_commonest_thread_count_is_the_policy_and_the_odd_one_is_flagged() -> None:
    records = [_record(seed=s) for s in range(3)] + [
        _record("jax", requested_threads=1, intra_op_threads=None)
    ]
    assert policy.policy_threads(records) == {"box-1": 2}
    rows = policy.flagged(records)
    assert len(rows) == 1 and rows[0]["run"].startswith("iris/jax[default]@cpu")
    assert "ran with 1 threads" in rows[0]["deviations"]


def test_report_states_the_policy_and_flags_the_departures(tmp_path: Path) -> None:
    from harness.store.runs import RecordWriter

    writer = RecordWriter(tmp_path / "results", "box-1", "abc", "unit")
    for record in [_record(seed=s) for s in range(2)] + [_record("jax", tf32=True)]:
        writer.append(record)
    out = tmp_path / "report.html"
    build_report(tmp_path / "results", out)
    html = out.read_text()
    assert 'id="policy"' in html and "TF32 off in torch, TensorFlow and JAX" in html
    assert "1 run(s) ran under a different policy" in html and "iris/jax[default]@cpu seed=0" in html
    assert "TF32 was on" in html
