"""No claim beyond the data: an accuracy difference between implementations needs two seeds or
more, and a compile overhead is shown only where a fresh worker measured it."""

from __future__ import annotations

import math

import pandas as pd

from harness.record.format import is_number
from harness.record.schema import RunRecord
from harness.report.data.frame import build_frames
from harness.report.data.summary import group_stats
from harness.report.sections import modes, narrative, tasks


def _stats(n_seeds: int) -> pd.DataFrame:
    rows = [("jax", 1.00, 1.00, 1.00), ("torch", 0.9333, 0.93, 0.94)]
    return pd.DataFrame(
        [
            {"label": label, "device": "cpu", "test_accuracy": acc, "test_accuracy_lo": lo,
             "test_accuracy_hi": hi, "test_accuracy_n": n_seeds}
            for label, acc, lo, hi in rows
        ]
    )  # fmt: skip


def test_one_seed_is_not_compared_and_two_are() -> None:
    (one,) = narrative.accuracy_sentences(_stats(1))
    assert "(100.00%, one seed); one seed: the implementations' accuracies are not compared" in one
    assert "is lower" not in one
    assert not narrative.accuracies_agree(_stats(1))  # nor said to agree
    (three,) = narrative.accuracy_sentences(_stats(3))
    assert "mean of 3 seeds" in three and "torch on cpu is lower" in three


def test_compile_overhead_only_from_a_fresh_worker() -> None:
    base = {"impl": "torch", "mode": "compile", "step_s": 1e-3, "n_ok": 1, "n_runs": 1}
    stale = pd.Series(base | {"first_epoch_s": 0.05, "fresh_first_epoch_s": math.nan, "steady_epoch_s": 0.05})
    assert modes._row(stale, None, stale, None)["overhead"] == modes.NOT_MEASURED
    fresh = pd.Series(base | {"first_epoch_s": 2.05, "fresh_first_epoch_s": 2.05, "steady_epoch_s": 0.05})
    assert modes._row(fresh, None, fresh, None)["overhead"] == "2.00 s"


def _run(impl: str, epochs_ms: list[float]) -> RunRecord:
    record = RunRecord(task="mnist1d", impl=impl, framework=impl, device="cpu", seed=2)
    record.steps_per_epoch, record.n_train, record.n_test, record.test_accuracy = 35, 3500, 1000, 0.6
    record.config = {"batch_size": 100}
    record.machine = {"machine_id": "box", "cpu_cores_logical": 2}
    record.timings.first_epoch_s = 1.0
    record.timings.epoch_s = [e * 35e-3 for e in epochs_ms]
    return record


def test_an_unstable_run_is_listed_with_its_epochs_and_left_out_of_every_number() -> None:
    keras = _run("keras", [8.0, 8.1, 8.8, 34, 35, 74, 38])  # the Keras-on-TF epochs
    torch = _run("torch", [11.0, 11.2, 11.1, 11.4, 11.0, 11.3, 11.2])
    frames = build_frames([keras, torch])
    assert set(frames.epochs["impl"]) == {"torch"}  # no table, sentence or ratio rests on keras
    stats = group_stats(frames)
    (section,) = tasks.build_sections(frames, stats)
    (left,) = section.left_out
    assert left["run"] == "keras on cpu, seed 2" and "4.2x apart" in left["why"]
    assert left["epochs"].startswith("8, 8.1, 8.8, 34, 35, 74, 38")
    (view,) = section.verdicts
    fastest = view.verdicts[0]
    assert fastest.answer.startswith("torch, ") and fastest.answer.endswith("(the only one measured)")
    row = stats[stats["impl"] == "keras"].iloc[0]
    assert not is_number(row["step_s"]) and row["test_accuracy"] == 0.6  # accuracy still counts
