"""One definition of every derived number: the report's tables, the comparison's statistics, the
history frame, the progress summary and a record's efficiency block read the same records and
must agree, including with an even number of steady epochs and a record without a machine id."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from harness.cli.progress import summary_table
from harness.compare.check import compare_records
from harness.compare.history import history_frame
from harness.record import derived, keys
from harness.record import format as record_format
from harness.record.schema import RunRecord, Timings
from harness.report.data.frame import build_frames
from harness.report.data.summary import group_stats
from harness.report.sections import history as history_section
from harness.store import runs as store

PEAK = 2.0e10
EPOCHS = {  # four steady epochs each: an even count, where "upper middle" and median differ
    ("jax", 0): [0.40, 0.10, 0.30, 0.20],
    ("jax", 1): [0.22, 0.18, 0.26, 0.50],
    ("torch", 0): [0.90, 0.60, 0.70, 0.80],
    ("torch", 1): [0.65, 0.75, 0.85, 0.95],
}


def _record(impl: str, seed: int, machine: dict) -> RunRecord:
    record = RunRecord(
        task="digits", impl=impl, framework=impl, device="cpu", seed=seed,
        config={"batch_size": 64, "epochs": 5, "seed": seed, "hidden": [64]},
        machine=machine, git_commit="abc123", steps_per_epoch=10, n_train=640,
        train_flops_per_sample=1_000_000, test_accuracy=0.9 + seed / 100,
        timings=Timings(epoch_s=EPOCHS[(impl, seed)], first_epoch_s=1.0),
    )  # fmt: skip
    record.calibration = derived.calibration_facts(None, _Peak())
    return record


class _Peak:
    engine, measured_at, matmul_flops_per_s, dispatch_median_s = "torch", "now", PEAK, 1e-5


@pytest.fixture
def records(tmp_path: Path) -> list[RunRecord]:
    """Written and read back through the store, as every consumer reads them."""
    writer = store.RecordWriter(tmp_path, "box-1", "abc123", "unit")
    box = {"machine_id": "box-1", "fingerprint": "f" * 16, "cpu_model": "Synthetic"}
    for impl, seed in EPOCHS:
        writer.append(_record(impl, seed, {} if impl == "torch" else box))  # torch: no machine id
    return store.load(tmp_path)[0]


def _pooled_step_s(impl: str) -> float:
    samples = [e / 10 for (i, _), epochs in EPOCHS.items() if i == impl for e in epochs]
    return float(np.median(samples))  # eight samples: the mean of the middle two


def test_the_median_is_the_mean_of_the_middle_two_everywhere(records: list[RunRecord]) -> None:
    jax0 = next(r for r in records if (r.impl, r.seed) == ("jax", 0))
    assert derived.step_time_s(jax0) == pytest.approx(0.025)  # (0.02 + 0.03) / 2, not 0.03
    assert derived.efficiency(jax0)["step_s"] == pytest.approx(0.025)
    assert derived.efficiency(jax0)["fraction_of_peak"] == pytest.approx(derived.fraction_of_peak(jax0))
    assert derived.fraction_of_peak(jax0) == pytest.approx(640 * 1e6 / (0.025 * 10) / PEAK)


def test_report_compare_history_and_progress_agree(records: list[RunRecord]) -> None:
    stats = group_stats(build_frames(records)).set_index("impl")
    rows = {row.key.impl: row for row in compare_records(records, records) if row.metric == "step_time"}
    history = history_frame(records)
    steps = history[history["metric"] == "step_time"].set_index("impl")
    table = summary_table(records)
    column = {c.header: c._cells for c in table.columns}
    progress = dict(zip(column["impl"], column["ms/step"], strict=True))
    for impl in ("jax", "torch"):
        expected = _pooled_step_s(impl)
        assert stats.loc[impl, "step_s"] == pytest.approx(expected)
        assert rows[impl].current_value == pytest.approx(expected)
        assert steps.loc[impl, "value"] == pytest.approx(expected)
        assert float(progress[impl]) == pytest.approx(expected * 1e3, abs=5e-4)
        flops = derived.achieved_flops_per_s(1_000_000, 640, 10, expected)
        if impl == "jax":  # the record without a machine id has no calibration either
            assert stats.loc[impl, "fraction_of_peak"] == pytest.approx(flops / PEAK)
        assert stats.loc[impl, "achieved_flops_per_s"] == pytest.approx(flops)


def test_a_record_without_a_machine_id_is_in_the_tables_and_in_history(records: list[RunRecord]) -> None:
    runs = build_frames(records).runs.set_index("impl")
    assert runs.loc["torch", "machine_id"].unique().tolist() == [keys.UNKNOWN_MACHINE]
    history = history_frame(records)
    assert set(history["machine_id"]) == {"box-1", keys.UNKNOWN_MACHINE}
    views = history_section.history_views(history)
    assert {v.machine_id for v in views} == {"box-1", keys.UNKNOWN_MACHINE}


def test_formatting_is_one_set_of_units() -> None:
    assert record_format.fmt_seconds(2.3e-3) == "2.30 ms" and record_format.fmt_seconds(5.12e-4) == "512 µs"
    assert (
        record_format.fmt_value(5.12e-4, "s") == "512 µs"
        and record_format.fmt_value(3 * 2**20, "bytes") == "3 MiB"
    )
    assert record_format.fmt_value(math.nan, "s") == "-" and record_format.fmt_seconds(None) == "—"
    assert keys.run_label("torch", "default") == "torch" and keys.run_label("jax", "scan") == "jax [scan]"
    assert keys.config_key({"seed": 1, "b": 2, "a": 1}) == keys.config_key({"a": 1, "b": 2, "seed": 9})


def _timed(epoch_s: list[float], others: list[float | None] | None = None, cores: int = 2) -> RunRecord:
    record = RunRecord(task="mnist1d", impl="keras", framework="keras", device="cpu", seed=2)
    record.steps_per_epoch = 35
    record.machine = {"cpu_cores_logical": cores}
    record.timings.first_epoch_s = 1.0
    record.timings.epoch_s = epoch_s
    record.timings.epoch_others_cpu_s = [None, *(others or [None] * len(epoch_s))]
    return record


def test_a_run_whose_steady_epochs_disagree_is_unstable() -> None:
    # Keras on TensorFlow's mnist1d epochs in the issue that found it (ms per step, seed 2)
    keras = _timed([e * 35e-3 for e in (8.0, 8.1, 8.8, 34, 35, 74, 38)])
    assert derived.epoch_spread(keras) == pytest.approx(34 / 8.0) and derived.unstable(keras)
    steady = _timed([e * 35e-3 for e in (8.0, 8.1, 8.8, 9.5, 8.3, 12.0, 8.4)])
    assert not derived.unstable(steady)
    assert not derived.unstable(_timed([0.1, 0.9]))  # two epochs: too few to call


def test_contention_is_a_share_of_the_machine_and_marks_long_busy_epochs() -> None:
    quiet = _timed([0.5, 0.5, 0.5], others=[-0.005, 0.015, 0.02])  # signed readings, summed
    assert derived.others_cpu_share(quiet) == pytest.approx(0.03 / 3.0)
    assert not derived.beside_other_work(quiet)
    busy = _timed([0.5, 0.5, 0.5], others=[0.0, 0.6, 0.0])  # 0.6 of 1.0 core-seconds in epoch 2
    assert derived.busy_epochs(busy) == [1] and derived.beside_other_work(busy)
    long_enough = _timed([0.1] * 12, others=[0.08] * 12)  # short epochs, 1.2 s in all: the sum tells
    assert derived.busy_epochs(long_enough) == [] and derived.beside_other_work(long_enough)
    too_short = _timed([0.002] * 11, others=[0.008, -0.002] * 5 + [0.008])  # 22 ms in all: cannot tell
    assert math.isnan(derived.others_cpu_share(too_short)) and not derived.beside_other_work(too_short)
    assert math.isnan(derived.others_cpu_share(_timed([0.5, 0.5])))  # not measured


def test_the_epoch_overhead_is_apart_from_the_step_time() -> None:
    """A loop that spends 12 ms setting each epoch up (Keras making its iterator) before six steps
    of 1 ms: the step time is 1 ms, the overhead 12 ms, and the whole epoch is both; every
    consumer of step samples (paired rounds, throughput) reads the same seconds."""
    record = RunRecord(task="iris", impl="keras", framework="keras", device="cpu", seed=0,
                       steps_per_epoch=6, n_train=90,
                       timings=Timings(first_epoch_s=0.5, epoch_s=[0.018, 0.018, 0.030],
                                       epoch_setup_s=[0.3, 0.012, 0.012, 0.024],
                                       epoch_rounds=[0, 1, 2, 3]))  # fmt: skip
    assert derived.steady_epochs_s(record) == [0.018, 0.018, 0.030]
    assert derived.epoch_overheads_s(record) == [0.012, 0.012, 0.024]
    assert derived.epoch_overhead_s(record) == pytest.approx(0.012)
    assert derived.step_samples_s(record) == pytest.approx([1e-3, 1e-3, 1e-3])
    assert derived.throughput_samples(record) == pytest.approx([15000, 15000, 15000])
    assert not derived.unstable(record)  # a slow setup is not a slow step
    old = RunRecord(task="iris", impl="keras", framework="keras", device="cpu", seed=0, steps_per_epoch=6,
                    timings=Timings(first_epoch_s=0.5, epoch_s=[0.018, 0.018, 0.030]))  # fmt: skip
    assert derived.step_samples_s(old) == pytest.approx([3e-3, 3e-3, 5e-3])  # none kept: the whole epoch
    assert math.isnan(derived.epoch_overhead_s(old))


def test_of_two_epoch_setups_a_stall_is_found_and_the_usual_one_is_the_smaller() -> None:
    """MNIST's default run has two steady epochs; Keras' setups read 20 ms and 2.36 s in the default
    bench of 2026-12-03. Their median (the mean of the two) made the page say Keras costs 1.2 s more
    per epoch and hid the stall; the usual setup of two is the smaller, and the other a stall."""

    def run(setups: list[float]) -> RunRecord:
        timings = Timings(first_epoch_s=5.0, epoch_s=[2.0 + s for s in setups], epoch_setup_s=[1.0, *setups],
                          epoch_rounds=list(range(len(setups) + 1)))  # fmt: skip
        return RunRecord(task="mnist", impl="keras", framework="keras", device="cpu", seed=0,
                         steps_per_epoch=391, n_train=50_000, timings=timings)  # fmt: skip

    stalled = run([0.020, 2.36])
    assert derived.epoch_overhead_s(stalled) == pytest.approx(0.020)
    assert derived.setup_stalls(stalled) == [1]
    assert derived.step_samples_s(stalled) == pytest.approx([2.0 / 391] * 2)  # the headline never moved
    steady = run([0.020, 0.045])  # within twice the smaller plus 20 ms: no stall
    assert derived.setup_stalls(steady) == [] and derived.epoch_overhead_s(steady) == pytest.approx(0.020)
    assert derived.setup_stalls(run([0.020])) == []  # one setup: nothing to hold it against
