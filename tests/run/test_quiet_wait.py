"""How long a round waits for a quiet machine: ``$MLPBENCH_QUIET_WAIT_S`` read and checked before
anything runs, ``0`` never waits (and counts each round as not known quiet), a bad value exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main
from harness.errors import UsageError
from harness.run import timing
from tests.real_runs import real_run


@pytest.mark.parametrize(("text", "limit"), [(None, 0.5), ("", 0.5), ("0", 0.0), (" 0.2 ", 0.2), ("3", 3.0)])
def test_the_limit_is_the_variable_or_half_a_second(
    monkeypatch: pytest.MonkeyPatch, text: str | None, limit: float
) -> None:
    if text is None:
        monkeypatch.delenv(timing.QUIET_WAIT_ENV, raising=False)
    else:
        monkeypatch.setenv(timing.QUIET_WAIT_ENV, text)
    assert timing.quiet_wait_limit() == limit


@pytest.mark.parametrize("text", ["fast", "-1", "nan", "inf", "0.5s"])
def test_a_bad_value_is_refused_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str
) -> None:
    monkeypatch.setenv(timing.QUIET_WAIT_ENV, text)
    with pytest.raises(UsageError, match=r"is not a number of seconds >= 0; valid: e\.g\. 0"):
        timing.quiet_wait_limit()
    results = tmp_path / "results"
    assert main(["run", "--task", "iris", "--impl", "numpy", "--results", str(results)]) == 2
    assert f"error: ${timing.QUIET_WAIT_ENV}={text!r} is not a number" in capsys.readouterr().err
    assert not results.exists()


def test_no_wait_is_recorded_as_rounds_not_known_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(timing.QUIET_WAIT_ENV, "0")
    assert timing.wait_for_quiet(limit_s=0.0) == (0.0, False)
    done = real_run(tmp_path, "--task", "iris", "--impl", "numpy", "--epochs", "4", "--no-twin")
    (record,) = done.records
    assert done.status == 0 and record.status == "ok"
    assert record.execution["quiet_wait_s"] == 0.0
    assert record.execution["epochs_not_quiet"] == len(set(record.timings.epoch_rounds)) == 4
