"""What `run` says it will run is what it counts: the plan's line, the progress lines and the
dry run's count leave out the runs this machine cannot make (a GPU it lacks), and say once why.

A default bench on a machine without a GPU said "plan: 240 runs", then "[0/240 runs]", then
"[0/120 runs]" once the GPU requests were recorded unavailable, and "156 records" at its end."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from harness.cli.main import main
from harness.cli.progress import Progress
from harness.plan.requests import RunRequest
from harness.record.tally import Tally, Unavailable
from harness.run import machine
from harness.run.planning import not_here

NO_DRIVER = "no NVIDIA driver on this machine (nvidia-smi not found)"


def _requests() -> list[RunRequest]:
    return [RunRequest("iris", impl, device=d) for impl in ("torch", "numpy") for d in ("cpu", "gpu")]


def test_a_device_the_machine_lacks_is_named_once_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "gpu_reason", lambda: NO_DRIVER)
    assert not_here(_requests()) == (2, [f"gpu: {NO_DRIVER}"])


def test_with_a_gpu_the_runs_that_cannot_use_it_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "gpu_reason", lambda: None)
    assert not_here(_requests()) == (1, ["numpy on gpu: numpy does not support GPUs"])


def test_the_plan_line_and_the_dry_run_count_what_runs_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(machine, "gpu_reason", lambda: NO_DRIVER)
    argv = ["run", "--task", "iris", "--impl", "torch", "numpy", "--device", "cpu", "gpu", "--seeds", "0",
            "--no-twin", "--dry-run", "--results", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert re.search(r"^plan: 2 runs, predicted", captured.err, re.M), captured.err
    assert f"not run here, one record per task and implementation says so: gpu: {NO_DRIVER}" in captured.err
    assert captured.out.strip().endswith("4 runs, 2 of which cannot run here"), captured.out


def test_runs_the_plan_said_cannot_run_are_not_counted_at_all() -> None:
    """The first line counts what will run; the records of the runs already said take nothing off."""
    log = io.StringIO()
    with Progress(6, console=Console(file=log, force_terminal=False, width=200), interval_s=60,
                  foreseen=3) as progress:  # fmt: skip
        first = log.getvalue().splitlines()[0]
        for _ in range(3):
            progress.skip()
        progress.skip()  # one more found only when it ran (a framework's import failed, say)
        progress._line()
    assert first.startswith("[0/3 runs]"), first
    assert log.getvalue().splitlines()[-1].startswith("[0/2 runs]")


def test_the_record_count_says_a_single_reasons_count_once() -> None:
    one = Tally(156, 108, 12, unavailable=[Unavailable("gpu", NO_DRIVER, 36)], devices_absent=["gpu"])
    said = one.words()
    assert said == f"156 records: 108 runs ok, 12 A/A twin runs; 36 could not run here (gpu: {NO_DRIVER})"
    two = Tally(10, 6, 0, unavailable=[Unavailable("gpu", NO_DRIVER, 3), Unavailable("keras [fast]", "x", 1)])
    said = two.words()
    assert said == f"10 records: 6 runs ok; 4 could not run here (gpu, 3: {NO_DRIVER}; keras [fast], 1: x)"


def test_a_reason_the_plan_already_gave_is_not_said_again_while_it_runs() -> None:
    """The plan's line said "gpu: no NVIDIA driver ..."; then the progress said "could not run here,
    recorded unavailable: gpu: ..." for it and again for numpy's own reason. A run found unavailable
    only when it starts is still said."""
    from harness.record.schema import RunRecord

    log = io.StringIO()

    def unavailable(impl: str, device: str, reason: str) -> RunRecord:
        return RunRecord(task="iris", impl=impl, framework=impl, seed=0, device=device, status="unavailable",
                         reason=reason)  # fmt: skip

    gpu, numpy = unavailable("torch", "gpu", NO_DRIVER), unavailable("numpy", "gpu", "no GPUs")
    late = unavailable("keras", "cpu", "no keras")
    with Progress(5, console=Console(file=log, force_terminal=False, width=200), interval_s=60,
                  foreseen=2) as progress:  # fmt: skip
        for record in (gpu, numpy, late):
            progress.done(record)
    said = [line for line in log.getvalue().splitlines() if line.startswith("could not run here")]
    assert said == ["could not run here, recorded unavailable: cpu: no keras"], said
    assert progress.total == 2
