"""The nightly check (``history --check``) on synthetic nights: a 15% slowdown over 3% noise
fails from its second night (its third at the latest) and on every night after, until the level
returns or the slowdown is acknowledged; one bad night, repeated or quantised values and noise
alone never fail; unusable points are counted and named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from harness.cli.main import main
from harness.compare.nightly import judge
from harness.compare.verdicts import ACKNOWLEDGED, CANNOT_TELL, PASS, REGRESSION
from harness.errors import UsageError
from harness.record.schema import RunRecord, Timings
from harness.store import acknowledged
from harness.store.runs import RecordWriter

NOISE, STEP = 0.03, 0.15
COMMITS = [f"{i:040x}" for i in range(400)]


def _nights(rng: np.random.Generator, n: int, slow_last: int = 0) -> np.ndarray:
    values = 0.002 * np.exp(rng.normal(0, NOISE, n))
    if slow_last:
        values[-slow_last:] *= 1 + STEP
    return values


def _fails(values: np.ndarray) -> bool:
    return judge(values, COMMITS[: len(values)]).failing


@pytest.mark.parametrize("nights_after", [2, 3, 4, 5, 8, 20])
def test_a_slowdown_fails_from_its_second_night_and_every_night_after(nights_after: int) -> None:
    rng = np.random.default_rng(nights_after)
    fails = [_fails(_nights(rng, 40, nights_after)) for _ in range(100)]
    # measured: 87% on the second night, 98-100% from the third (200 series each)
    assert np.mean(fails) >= (0.75 if nights_after == 2 else 0.95), np.mean(fails)


@pytest.mark.parametrize("n", [30, 60, 365])
def test_on_any_length_of_history_the_third_night_fails(n: int) -> None:
    rng = np.random.default_rng(n)
    assert np.mean([_fails(_nights(rng, n, 3)) for _ in range(30)]) >= 0.85  # measured 0.94-0.98


def test_noise_alone_and_one_bad_night_never_fail() -> None:
    rng = np.random.default_rng(7)
    assert sum(_fails(_nights(rng, 40)) for _ in range(200)) <= 2  # measured 0 of 200
    assert sum(_fails(_nights(rng, 40, 1)) for _ in range(200)) <= 4  # one slow night: measured 1
    for _ in range(50):
        spike = _nights(rng, 40)
        spike[-1] *= 2.0  # the newest night twice as slow
        assert not _fails(spike)
        spike[-1] /= 2.0
        spike[20] *= 2.0  # an outlier in the reference moves neither the level nor the commit
        assert not _fails(spike)


def test_the_check_turns_green_the_night_the_level_returns() -> None:
    rng = np.random.default_rng(8)
    values = _nights(rng, 40, 6)
    assert _fails(values)
    back = np.r_[values, _nights(rng, 1)]
    assert not _fails(back)


def test_repeated_and_quantised_values_do_not_make_a_wiggle_a_regression() -> None:
    rng = np.random.default_rng(9)
    quantised = np.round(_nights(rng, 40) * 1e4, 0) / 1e4  # 0.1 ms steps on a 2 ms series
    assert judge(quantised, COMMITS[:40]).status == PASS
    repeated = np.r_[[2e-3] * 30, [2.04e-3] * 3]  # 2% slower: below the threshold, though exact
    assert judge(repeated, COMMITS[:33]).status == PASS
    assert judge(np.r_[[2e-3] * 30, [2.5e-3] * 3], COMMITS[:33]).status == REGRESSION


def test_the_blamed_commit_is_where_the_slower_level_starts() -> None:
    rng = np.random.default_rng(10)
    values = _nights(rng, 40, 5)
    values[34] *= 1.8  # an outlier the night before the step
    verdict = judge(values, COMMITS[:40])
    assert verdict.status == REGRESSION and verdict.commit == COMMITS[35] and verdict.nights == 5
    assert verdict.ratio == pytest.approx(1 + STEP, abs=0.05)


def test_unusable_points_are_dropped_counted_and_named() -> None:
    values = np.r_[[2e-3] * 10, 0.0, np.nan, -1.0, [2e-3] * 3]
    verdict = judge(values, COMMITS[:16])
    assert verdict.status == PASS and verdict.points == 13
    assert verdict.dropped == COMMITS[10:13]
    assert judge([2e-3, 0.0, 2e-3], COMMITS[:3]).status == CANNOT_TELL


def test_an_acknowledged_slowdown_passes_and_a_further_one_fails_again() -> None:
    rng = np.random.default_rng(11)
    values = _nights(rng, 40, 10)
    accepted = judge(values, COMMITS[:40], acknowledged=lambda c: c == COMMITS[30])
    assert accepted.status == ACKNOWLEDGED and accepted.commit == COMMITS[30]
    worse = np.r_[values, _nights(rng, 4) * (1 + STEP) * 1.3]
    again = judge(worse, COMMITS[:44], acknowledged=lambda c: c == COMMITS[30])
    assert again.status == REGRESSION and again.commit == COMMITS[40]


def _record(night: int, step_s: float) -> RunRecord:
    when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=night)
    return RunRecord(
        task="digits", impl="torch", framework="torch", device="cpu", seed=0,
        config={"batch_size": 64}, machine={"machine_id": "box-1", "fingerprint": "f" * 16},
        git_commit=COMMITS[night], created_at=when.isoformat(timespec="seconds"),
        timings=Timings(epoch_s=[step_s * 10] * 4), steps_per_epoch=10, n_train=640, test_accuracy=0.9,
    )  # fmt: skip


def test_history_check_end_to_end_night_by_night(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """40 nights of one series written through the store, a 15% slowdown from night 30: the
    nightly job is green before it, red from night 31 on every night, green again once it is
    acknowledged in the results folder's acknowledged.toml (a bad one is refused)."""
    rng = np.random.default_rng(12)
    values = _nights(rng, 36)
    values[30:] *= 1 + STEP
    codes = []
    for night, value in enumerate(values):
        RecordWriter(tmp_path, "box-1", COMMITS[night], f"night{night:02d}").append(_record(night, value))
        if night >= 27:
            codes.append(main(["history", "--results", str(tmp_path), "--check"]))
    assert codes == [0, 0, 0, 0, 1, 1, 1, 1, 1], codes  # nights 27..35; the step at 30
    out = capsys.readouterr().out
    assert "REGRESSION +1" in out and f"since commit {COMMITS[30][:12]}" in out
    good, bad = COMMITS[29][:12], COMMITS[30][:12]  # the night before the step, and the step's
    assert f"it began after {good} (the level before) up to {bad} (the first slow night); on box-1" in out
    assert (
        f"python -m harness bisect --good {good} --bad {bad} --suite default --task digits --impl torch "
        "--mode default --device cpu"
    ) in out
    ack = tmp_path / acknowledged.FILE
    ack.write_text(f'[[change]]\ncommit = "{COMMITS[30][:10]}"\nreason = "accepted"\ntask = "digits"\n')
    assert main(["history", "--results", str(tmp_path), "--check"]) == 0
    assert "acknowledged slowdown" in capsys.readouterr().out
    ack.write_text(f'[[change]]\ncommit = "{COMMITS[30][:10]}"\n')
    with pytest.raises(UsageError, match="a reason is required"):
        acknowledged.load(tmp_path)
    ack.write_text('[[change]]\ncommit = "abc"\nreason = "x"\nbranch = "main"\n')
    with pytest.raises(UsageError, match="unknown key.*branch; valid: commit, reason, machine_id"):
        acknowledged.load(tmp_path)
    assert main(["history", "--results", str(tmp_path), "--check"]) == 2


@pytest.mark.parametrize("nights_ago", [70, 100, 170])
def test_an_older_unacknowledged_slowdown_still_fails(nights_ago: int) -> None:
    """Older than the 60-night window the check searches first, it still counts (up to 180)."""
    rng = np.random.default_rng(nights_ago)
    assert np.mean([_fails(_nights(rng, 365, nights_ago)) for _ in range(20)]) >= 0.9


def test_a_history_is_caught_from_its_third_slow_night_and_quiet_ones_pass() -> None:
    """Issue 29's bars, on the hardest history: one series, its 3% noise night-wide (nothing else
    to catch the slowdown in): a 15% slowdown caught on its third night in at least 95% of 1,000
    histories and on each later night in at least 99%; quiet histories fail in at most 1%. The
    whole suite's histories: ``python benchmarks/nightly_rates.py`` (200 histories, every series)."""
    rng = np.random.default_rng(29)

    def history(slow: int) -> np.ndarray:
        values = 0.002 * (1 + rng.normal(0, NOISE, 40))
        if slow:
            values[-slow:] *= 1 + STEP
        return values

    rates = {k: np.mean([_fails(history(k)) for _ in range(1000)]) for k in (0, 3, 4, 5, 6, 8)}
    assert rates[0] <= 0.01 and rates[3] >= 0.95, rates
    assert all(rates[k] >= 0.99 for k in (4, 5, 6, 8)), rates
