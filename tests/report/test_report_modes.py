"""The execution-modes table and the batch-size scaling view, from records built here with known
times, so every number on the page can be worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from harness.record.schema import RunRecord, Timings
from harness.report.build import build_report
from harness.report.data.frame import build_frames
from harness.report.data.scaling import scaling_frame
from harness.report.data.summary import group_stats
from harness.report.sections.modes import break_even_steps, modes_views
from harness.report.sections.scaling import knee_batch
from harness.store.runs import RecordWriter


def _record(impl: str, mode: str, step_s: float, first_extra_s: float, seed: int = 0, batch: int = 64,
            steps: int = 10, fraction: float | None = None) -> RunRecord:  # fmt: skip
    epoch_s = step_s * steps
    return RunRecord(
        task="digits",
        impl=impl,
        framework=impl,
        device="cpu",
        seed=seed,
        mode=mode,
        config={"dtype": "float32", "batch_size": batch, "hidden": [64], "epochs": 5},
        machine={"machine_id": "box-1", "fingerprint": "f" * 16},
        timings=Timings(epoch_s=[epoch_s] * 4, first_epoch_s=epoch_s + first_extra_s),
        steps_per_epoch=steps,
        n_train=steps * batch,
        train_flops_per_sample=1000,
        # the calibrated peak that makes this run's achieved FLOP/s the given fraction of it
        calibration={"peak_flops_per_s": 1000 * batch / step_s / fraction} if fraction is not None else {},
    )


def test_break_even_by_hand() -> None:
    # 4.9 s more up front, 1 ms saved per step: 4,900 steps
    assert break_even_steps(0.001, 5.0, 0.002, 0.1) == pytest.approx(4900)
    assert break_even_steps(0.001, 0.05, 0.002, 0.1) == 0.0  # no more up front: pays at once
    assert math.isinf(break_even_steps(0.003, 5.0, 0.002, 0.1))  # slower steps: never


def test_modes_table_compares_each_mode_with_its_default_and_the_fastest() -> None:
    records = [_record("jax", "default", 0.002, 0.1, seed=s) for s in range(3)]
    records += [_record("jax", "scan", 0.001, 5.0), _record("torch", "default", 0.004, 0.0)]
    records += [_record("torch", "compile", 0.005, 30.0)]
    (view,) = modes_views(group_stats(build_frames(records)))
    rows = {(r["impl"], r["mode"]): r for r in view.rows}
    assert [(r["impl"], r["mode"]) for r in view.rows][:2] == [("jax", "default"), ("jax", "scan")]
    scan = rows[("jax", "scan")]
    assert (
        scan["fastest"] and scan["vs_default"] == "2.00× faster (unpaired)" and scan["break_even"] == "4,900"
    )
    assert rows[("torch", "compile")]["vs_default"] == "1.25× slower (unpaired)"
    assert rows[("torch", "compile")]["break_even"] == "never"
    assert rows[("torch", "default")]["vs_fastest"] == "4.00× (unpaired)"
    assert any(line.startswith("jax: fastest in mode 'scan'") for line in view.sentences)
    assert any(
        "torch: fastest in mode 'default'" in line and "4.00× the fastest run here (unpaired)" in line
        for line in view.sentences
    )


def test_no_modes_table_when_every_implementation_ran_one_mode() -> None:
    records = [_record("jax", "default", 0.002, 0.1), _record("torch", "default", 0.004, 0.0)]
    assert modes_views(group_stats(build_frames(records))) == []


def _sweep() -> list[RunRecord]:
    records = []
    for batch in (16, 64, 256, 1024, 4096):
        compute_bound = max(0.001, batch * 4e-6)  # flat at 1 ms up to 250, then 4 us per sample
        records.append(_record("jax", "scan", compute_bound, 0.1, batch=batch, fraction=batch / 8192))
        records.append(_record("keras", "default", 0.005, 0.1, batch=batch))  # never compute-bound
    return records


def test_scaling_knee_by_hand() -> None:
    ((key, frame),) = scaling_frame(build_frames(_sweep()).runs).items()
    assert key == ("box-1", "digits", "cpu")
    jax = frame[frame["label"] == "jax [scan]"]
    assert sorted(jax["batch_size"]) == [16, 64, 256, 1024, 4096]
    assert jax.set_index("batch_size")["step_s"][1024] == pytest.approx(1024 * 4e-6)
    assert knee_batch(jax) == 256
    assert knee_batch(frame[frame["label"] == "keras"]) == 4096


def test_report_has_modes_and_scaling_sections(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path / "results", "box-1", "abc", "unit")
    for record in _sweep() + [_record("jax", "default", 0.002, 0.1, batch=4096)]:
        writer.append(record)
    out = tmp_path / "report.html"
    build_report(tmp_path / "results", out)
    html = out.read_text()
    assert 'id="scaling"' in html and "batch 16, 64, 256, 1024, 4096" in html
    assert "jax [scan]: 1.00 ms per step at batch 16, 16.4 ms at 4096; overhead-bound up to batch 256" in html
    assert (
        "keras: 5.00 ms per step at batch 16, 5.00 ms at 4096; overhead-bound up to batch 4096 (never" in html
    )
    assert 'id="modes"' in html and 'class="modes-table"' in html
