"""Paired ratios in the report: from the per-round step times of interleaved runs, immune to a
drift that biases a ratio of medians; runs measured back to back are called unpaired."""

from __future__ import annotations

import numpy as np
import pytest

from harness.compare.paired import paired_ratio
from harness.record.schema import RunRecord, Timings
from harness.report.data.frame import build_frames
from harness.report.data.paired import PairedIndex
from harness.report.data.summary import group_stats
from harness.report.sections.modes import modes_views
from harness.report.sections.tables import headline_table
from harness.report.sections.verdicts import verdict_views

STEPS = 10


def _record(impl: str, mode: str, epoch_s: list[float], seed: int, schedule: str) -> RunRecord:
    return RunRecord(
        task="digits", impl=impl, framework=impl, device="cpu", seed=seed, mode=mode,
        config={"batch_size": 64, "epochs": len(epoch_s) + 1},
        machine={"machine_id": "box-1", "fingerprint": "f" * 16},
        timings=Timings(
            epoch_s=epoch_s, first_epoch_s=1.0, epoch_rounds=list(range(len(epoch_s) + 1)),
            epoch_started_at=[float(i) for i in range(len(epoch_s) + 1)],
        ),
        steps_per_epoch=STEPS, n_train=640, test_accuracy=0.95,
        execution={"schedule": schedule, "group": f"g{seed}"},
    )  # fmt: skip


def _drifting(schedule: str) -> list[RunRecord]:
    """The machine slows down 3x over the rounds; 'fast' is always exactly half of 'default'.
    The default mode's seed 1 ran in the slow minutes only: its median is inflated."""
    drift = np.linspace(1.0, 3.0, 12)
    records = []
    for seed in (0, 1):
        base = drift * 0.01 * (2.0 if seed == 1 else 1.0)
        records.append(_record("jax", "default", list(base), seed, schedule))
        records.append(_record("jax", "scan", list(base / 2.0), seed, schedule))
    return records


def test_paired_ratio_is_exact_under_drift_and_bootstraps_groups_then_rounds() -> None:
    groups = [np.log(np.full(11, 2.0)), np.log(np.full(11, 2.0) * np.exp(np.linspace(-0.01, 0.01, 11)))]
    ratio = paired_ratio(groups)
    assert ratio is not None and ratio.estimate == pytest.approx(2.0, rel=1e-3)
    assert 1.98 < ratio.low <= ratio.estimate <= ratio.high < 2.02 and ratio.clear
    assert ratio.n_groups == 2 and ratio.n_rounds == 22
    assert paired_ratio([np.array([0.1])]) is None  # one round is not a ratio


def test_headline_modes_and_sentences_use_the_paired_ratio() -> None:
    frames = build_frames(_drifting("interleaved"))
    stats, paired = group_stats(frames), PairedIndex(frames.rounds)
    table = headline_table(stats, paired)
    default_row = next(r for r in table.rows if r.mode == "default")
    assert default_row.cells["step_s"].versus_best == "2.00× best [2.00–2.00]"
    assert not default_row.cells["step_s"].tie
    (view,) = modes_views(stats, paired, frames.epochs)
    scan = next(r for r in view.rows if r["mode"] == "scan")
    assert scan["vs_default"] == "2.00× faster"
    (verdicts,) = verdict_views(stats, paired)
    best = next(v for v in verdicts.verdicts if v.question == "Fastest with a fast path")
    assert "the next, jax, takes 2.00× [2.00, 2.00] as long" in best.answer


def test_back_to_back_runs_are_not_paired_and_say_so() -> None:
    frames = build_frames(_drifting("sequential"))
    assert frames.rounds.empty
    stats, paired = group_stats(frames), PairedIndex(frames.rounds)
    default_row = next(r for r in headline_table(stats, paired).rows if r.mode == "default")
    assert default_row.cells["step_s"].versus_best.endswith("× best (unpaired)")
    (verdicts,) = verdict_views(stats, paired)
    assert "unpaired" in verdicts.verdicts[-1].answer or any(
        "unpaired" in v.answer for v in verdicts.verdicts
    )
