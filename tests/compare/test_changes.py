"""Change points in the history: a real step is found where it starts, noise is not a change,
one bad point is never a change, a drift is a drift, repeated values and blips are not changes, an
outlier does not move the commit (nor a spike right before a step on a short series), a step over
six points is found, and dropped points are named; the nightly check's own tests are
in test_nightly.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.cli.main import main
from harness.compare.changes import DRIFT, change_points, detect, dropped_points, segments
from harness.compare.history import history_frame
from harness.compare.nightly import MIN_POINTS as NIGHTLY_MIN
from harness.record.schema import RunRecord, Timings
from harness.store.runs import RecordWriter


def _noisy(n: int, rng: np.random.Generator, sd: float = 0.05) -> np.ndarray:
    return 0.002 * np.exp(rng.normal(0, sd, n))


def test_a_step_is_found_where_it_starts() -> None:
    rng = np.random.default_rng(1)
    found = []
    for _ in range(40):
        values = _noisy(16, rng)
        values[10:] *= 1.3
        found.append(change_points(values))
    assert all(len(f) == 1 and abs(f[0] - 10) <= 1 for f in found), found
    assert sum(f == [10] for f in found) >= 36  # at the exact commit 98% of the time (measured)


def test_noise_alone_is_rarely_a_change_and_one_outlier_never() -> None:
    rng = np.random.default_rng(2)
    false = sum(bool(change_points(_noisy(12, rng))) for _ in range(300))
    assert false / 300 < 0.04, false  # measured 1.8% over 400 series
    values = _noisy(12, rng)
    values[-1] *= 2.0  # one bad night at the end
    values[5] *= 2.0  # and one in the middle
    assert change_points(values) == []


def _frame(values: list[float]) -> pd.DataFrame:
    records = [_record(i, v) for i, v in enumerate(values)]
    return history_frame(records)


def _record(i: int, step_s: float) -> RunRecord:
    return RunRecord(
        task="digits", impl="torch", framework="torch", device="cpu", seed=0,
        config={"batch_size": 64}, machine={"machine_id": "box-1", "fingerprint": "f" * 16},
        git_commit=f"{i:040x}", created_at=(datetime(2025, 5, 1, tzinfo=UTC) + timedelta(days=i)).isoformat(),
        timings=Timings(epoch_s=[step_s * 10] * 4), steps_per_epoch=10, n_train=640, test_accuracy=0.9,
    )  # fmt: skip


def test_detect_names_the_commit_levels_and_recency() -> None:
    rng = np.random.default_rng(3)
    values = list(_noisy(14, rng, 0.02))
    values[11:] = [v * 1.5 for v in values[11:]]
    (change,) = detect(_frame(values), threshold=0.10, recent=3)
    assert change.commit == f"{11:040x}" and change.regression and change.recent
    assert change.ratio == pytest.approx(1.5, rel=0.08)
    assert "regression +5" in change.describe() and "(newest points)" in change.describe()
    (older,) = detect(_frame(values + values[-4:]), threshold=0.10, recent=3)
    assert older.regression and not older.recent


def test_history_check_exits_1_on_a_regression_in_the_newest_points(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(4)
    values = list(_noisy(12, rng, 0.02))
    values[9:] = [v * 1.4 for v in values[9:]]
    for i, value in enumerate(values):
        RecordWriter(tmp_path, "box-1", f"{i:040x}", f"night{i:02d}").append(_record(i, value))
    assert main(["history", "--results", str(tmp_path)]) == 0  # reports, does not fail
    assert main(["history", "--results", str(tmp_path), "--check"]) == 1
    assert "regression in 1 of 1 series" in capsys.readouterr().out
    assert main(["history", "--results", str(tmp_path), "--check", "--threshold", "50%"]) == 0
    assert main(["history", "--results", str(tmp_path / "nothing"), "--check"]) == 2


def test_history_check_cannot_tell_without_enough_commits(tmp_path: Path, capsys) -> None:
    """One commit (or three) is no history: --check exits 3, never 0 ("cannot tell" is no pass)."""
    for i in range(NIGHTLY_MIN - 1):
        RecordWriter(tmp_path, "box-1", f"{i:040x}", f"night{i:02d}").append(_record(i, 2e-3))
        assert main(["history", "--results", str(tmp_path), "--check"]) == 3
        assert "cannot tell" in capsys.readouterr().out
    last = NIGHTLY_MIN - 1
    RecordWriter(tmp_path, "box-1", f"{last:040x}", f"night{last:02d}").append(_record(last, 2e-3))
    assert main(["history", "--results", str(tmp_path), "--check"]) == 0


def test_a_slow_drift_is_one_drift_with_its_slope_not_a_staircase() -> None:
    rng = np.random.default_rng(6)
    values = list(_noisy(120, rng, 0.03) * np.exp(0.0015 * np.arange(120)))
    (drift,) = detect(_frame(values), threshold=0.10)
    assert drift.kind == DRIFT and drift.nights == 120 and drift.commit == f"{0:040x}"
    assert drift.per_night == pytest.approx(0.0015, abs=0.0004) and drift.regression  # +20% in all
    assert "drifts +0.1" in drift.describe() and "per night" in drift.describe()
    stairs = np.concatenate([_noisy(30, rng, 0.01) * f for f in (1.0, 1.12, 1.25, 1.4)])
    cuts, line = segments(stairs)
    assert line is None and cuts == [30, 60, 90]  # real steps stay steps


def test_repeated_and_quantised_values_are_not_changes() -> None:
    rng = np.random.default_rng(7)
    quantised = np.round(_noisy(200, rng, 0.01) / 2e-5) * 2e-5  # 1% quanta: most nights repeat
    repeated = np.where(rng.random(300) < 0.1, 2.04e-3, 2e-3)
    assert change_points(quantised) == [] and change_points(repeated) == []


def test_a_change_below_the_floor_is_not_listed_and_a_blip_is_not_a_change() -> None:
    rng = np.random.default_rng(8)
    small = _noisy(60, rng, 0.005)
    small[30:] *= 1.03  # clear of the noise, but 3%: under the 5% floor
    blip = _noisy(40, rng, 0.03)
    blip[20:22] *= 1.3  # two slow nights, then back
    assert change_points(small) == [] and change_points(blip) == []
    assert segments(small, floor=0.01)[0] == [30]  # it is found: the floor is what drops it


def test_an_outlier_right_before_a_step_does_not_move_the_commit() -> None:
    rng = np.random.default_rng(9)
    for _ in range(20):
        values = _noisy(40, rng, 0.03)
        values[25:] *= 1.3
        values[24] *= 2.0
        assert change_points(values) == [25]


def test_points_that_are_not_step_times_are_dropped_and_named() -> None:
    rng = np.random.default_rng(10)
    values = list(_noisy(14, rng, 0.02))
    values[10:] = [v * 1.5 for v in values[10:]]
    frame = _frame(values)
    bad = frame["metric"].eq("step_time") & frame["git_commit"].isin([f"{3:040x}", f"{6:040x}"])
    frame.loc[bad, "value"] = [0.0, -1.0]
    (change,) = detect(frame)
    assert change.commit == f"{10:040x}"  # the rest of the series still speaks
    ((_, dropped),) = dropped_points(frame)
    assert dropped == [f"{3:040x}", f"{6:040x}"]


def test_a_step_over_six_points_is_found_where_it_starts() -> None:
    """Issue 29: a -5.6% step over six points of about 1% noise. The noise estimate left none of
    five differences out (a tenth of five rounds down to none), so the step's own difference
    raised the penalty above the step."""
    values = [61160, 60160, 60960, 57123, 57980, 56950]
    (change,) = detect(_frame(values), threshold=0.10)
    assert change.commit == f"{3:040x}" and not change.regression
    assert change.before == pytest.approx(60960) and change.after == pytest.approx(57123)
    assert change.ratio - 1 == pytest.approx(-0.063, abs=0.001)  # the medians either side
    rng = np.random.default_rng(11)
    found = sum(
        change_points(_noisy(6, rng, 0.01) * np.r_[1, 1, 1, 0.944, 0.944, 0.944]) == [3] for _ in range(300)
    )
    assert found >= 225, found  # 237/300 measured (197 before the step was left out of the noise)


def test_a_step_right_after_a_one_night_spike_starts_after_the_spike() -> None:
    """Issue 29: a +10% level after one 3x night. The spike spoils two differences, which the
    noise estimate of a short series kept (a penalty no 10% step could pass); the spike is an
    outlier before the step, not where the new level starts, nor a level of its own."""
    values = [100, 100, 100, 100, 300, 110, 110, 110, 110]
    (change,) = detect(_frame(values), threshold=0.10)
    assert change.commit == f"{5:040x}" and change.kind != DRIFT
    assert change.before == pytest.approx(100) and change.after == pytest.approx(110)
    assert change_points(values) == [5]
    rng = np.random.default_rng(12)
    found = 0
    for _ in range(200):
        values = _noisy(20, rng, 0.02)
        values[12:] *= 1.1
        values[11] *= 3.0
        found += change_points(values) == [12]
    assert found >= 190, found  # 199/200 measured (44 before)


def test_noise_on_a_few_points_is_rarely_a_change() -> None:
    """Leaving two differences out of a handful costs some false changes on short noisy series:
    held under 4% at 3% noise (measured 1-7 in 300 over 5-10 points; none before), none at 1%
    (the 5% floor)."""
    rng = np.random.default_rng(13)
    for n in (5, 6, 8, 10):
        assert sum(bool(change_points(_noisy(n, rng, 0.01))) for _ in range(300)) == 0
        false = sum(bool(change_points(_noisy(n, rng, 0.03))) for _ in range(300))
        assert false / 300 < 0.04, (n, false)
