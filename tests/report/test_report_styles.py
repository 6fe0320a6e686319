"""The API styles section and the one line per device where nothing could run."""

from __future__ import annotations

import numpy as np

from harness.record.schema import RunRecord, Timings
from harness.report.data.frame import build_frames
from harness.report.data.paired import PairedIndex
from harness.report.data.summary import group_stats
from harness.report.sections.api_styles import styles_views
from harness.report.sections.machines import machines_views
from harness.report.sections.tables import headline_table

ROUNDS = 8


def _record(impl: str, api: str, engine: str, step_s: float, first_s: float, lines: int, **kw) -> RunRecord:
    drift = np.linspace(1.0, 2.0, ROUNDS - 1)  # the machine slows down: only paired ratios stay exact
    return RunRecord(
        task="digits", impl=impl, framework=impl, device="cpu", seed=0, api=api,
        config={"batch_size": 64}, machine={"machine_id": "box-1"},
        timings=Timings(
            epoch_s=list(step_s * 10 * drift), first_epoch_s=first_s, epoch_rounds=list(range(ROUNDS)),
            time_to_target_s=1.0,
        ),
        steps_per_epoch=10, n_train=640, test_accuracy=0.95,
        execution={"schedule": "interleaved", "group": "g0", "engine": engine, "code_lines": lines}, **kw,
    )  # fmt: skip


def _records() -> list[RunRecord]:
    return [
        _record("torch", "low-level", "torch", 0.001, 0.05, 128),
        _record("lightning", "high-level", "torch", 0.0015, 0.9, 207),
        _record("jax", "low-level", "jax", 0.0008, 1.0, 122),
        _record("flax", "high-level", "jax", 0.0012, 1.4, 149),
        _record("numpy", "by-hand", "numpy", 0.004, 0.04, 106),
        RunRecord(task="digits", impl="torch", framework="torch", device="gpu", seed=0, status="unavailable",
                  reason="no NVIDIA driver", config={"batch_size": 64}, machine={"machine_id": "box-1"}),
        RunRecord(task="digits", impl="jax", framework="jax", device="gpu", seed=0, status="unavailable",
                  reason="no NVIDIA driver", config={"batch_size": 64}, machine={"machine_id": "box-1"}),
    ]  # fmt: skip


def test_styles_pair_each_high_level_api_with_its_engines_loop_and_the_numpy_floor() -> None:
    frames = build_frames(_records())
    stats, paired = group_stats(frames), PairedIndex(frames.rounds)
    (view,) = styles_views(stats, paired)
    assert view.device == "cpu"
    rows = {r["label"]: r for r in view.rows}
    assert [r["label"] for r in view.rows] == ["jax", "flax", "torch", "lightning", "numpy"]
    assert (
        rows["lightning"]["versus"] == "1.50× [1.50–1.50]" and rows["flax"]["versus"] == "1.50× [1.50–1.50]"
    )
    assert rows["lightning"]["lines"] == "207" and rows["numpy"]["role"] == "by-hand"
    text = " ".join(view.sentences)
    assert "lightning costs 750 µs per step against the plain torch loop" in text
    assert "its first epoch takes 900 ms against 50.0 ms" in text
    # each low-level loop's step time over the numpy floor's, paired per round
    assert "torch 0.25× [0.25–0.25]" in text and "jax 0.20× [0.20–0.20]" in text


def test_a_ratio_from_one_interleaved_round_says_so_and_one_never_interleaved_is_unpaired() -> None:
    records = _records()[:2]
    for record in records:  # one steady epoch each (two-epoch runs): one shared round
        record.timings.epoch_s, record.timings.epoch_rounds = record.timings.epoch_s[:1], [0, 1]
    frames = build_frames(records)
    (view,) = styles_views(group_stats(frames), PairedIndex(frames.rounds))
    assert {r["label"]: r["versus"] for r in view.rows}["lightning"] == "1.50× (one round, no interval)"
    records[1].execution["group"] = "g1"  # never interleaved with torch's run
    frames = build_frames(records)
    (view,) = styles_views(group_stats(frames), PairedIndex(frames.rounds))
    assert {r["label"]: r["versus"] for r in view.rows}["lightning"] == "1.50× (unpaired)"


def test_a_device_where_nothing_ran_is_one_line_with_the_reason() -> None:
    table = headline_table(group_stats(build_frames(_records())))
    assert {r.device for r in table.rows} == {"cpu"}
    (gpu,) = table.unavailable
    assert gpu.device == "gpu" and gpu.reason == "no NVIDIA driver" and gpu.count == 2


def test_machines_side_by_side_say_their_ratios_are_unpaired() -> None:
    records = [r for r in _records() if r.device == "cpu"]
    other = [
        _record(
            "torch",
            "low-level",
            "torch",
            0.003,
            0.05,
            128,
        )
    ]
    other[0].machine = {"machine_id": "box-2"}
    stats = group_stats(build_frames(records + other))
    (view,) = machines_views(stats)
    assert view.machines == ["box-1", "box-2"]
    (row,) = view.rows  # only torch ran on both
    assert row["label"] == "torch" and row["fastest"] == "box-1" and row["spread"] == "3.00× (unpaired)"
    assert "unpaired" in view.sentences[0]
    assert machines_views(group_stats(build_frames(records))) == []  # one machine: no section
