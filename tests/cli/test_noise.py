"""The noise floor: measured from real back-to-back runs, stored per machine, shown by compare with
a warning when a limit is below it; and a single-run side is never called regressed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.exits import for_verdict
from harness.cli.main import main
from harness.compare.check import CheckResult, compare_records
from harness.compare.verdicts import CANNOT_TELL, REGRESSION
from harness.record.schema import RunRecord, Timings
from harness.run import machine
from harness.store import noise


def test_noise_is_measured_stored_and_shown_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    results = tmp_path / "results"
    argv = [
        "noise",
        "--task",
        "iris",
        "--impl",
        "numpy",
        "--runs",
        "3",
        "--epochs",
        "4",
        "--results",
        str(results),
    ]
    assert main(argv) == 0
    floor = noise.load(results, machine.machine_info()["machine_id"])
    assert floor is not None and len(floor.step_s) == 3 and floor.floor >= 0
    steps = floor.step_s
    assert floor.floor == pytest.approx(max(abs(b / a - 1) for a, b in zip(steps, steps[1:], strict=False)))
    assert "noise floor: ±" in capsys.readouterr().out
    # compare shows it, and warns about a limit below it
    run = tmp_path / "run.jsonl"
    record = _record(0, 0.01)
    record.machine = dict(machine.machine_info())
    run.write_text(json.dumps(record.to_dict()) + "\n")
    floor.floor = 0.5
    noise.save(results, floor)
    argv = ["compare", "--baseline", str(run), "--current", str(run), "--results", str(results)]
    main([*argv, "--fail", "step_time:median:10%"])
    captured = capsys.readouterr()
    assert "noise floor of this machine: ±50%" in captured.out
    assert "step_time:median:10% is below this machine's noise floor" in captured.err
    assert main(["noise", "--task", "nope", "--results", str(results)]) == 2
    assert main(["noise", "--runs", "1", "--results", str(results)]) == 2


def _record(seed: int, step_s: float, task: str = "digits") -> RunRecord:
    return RunRecord(
        task=task, impl="jax", framework="jax", device="cpu", seed=seed, config={"batch_size": 64},
        machine={"machine_id": "box-1", "fingerprint": "f" * 16},
        timings=Timings(epoch_s=[step_s * 10] * 6), steps_per_epoch=10, n_train=640, test_accuracy=0.9,
    )  # fmt: skip


def test_one_pair_cannot_tell_and_many_pairs_of_one_run_decide() -> None:
    rows = compare_records([_record(0, 0.010)], [_record(0, 0.013)])  # 30% slower, one pair
    step = next(r for r in rows if r.metric == "step_time" and r.threshold is not None)
    assert step.status == CANNOT_TELL and "too few pairs" in step.method
    assert for_verdict(CheckResult(rows, [], {}).verdict) == 3  # "cannot tell", never a pass
    tasks = ("digits", "iris", "mnist", "mnist1d", "wine")
    noise = (1.0, 1.01, 0.99, 1.02, 0.98)
    base = [_record(0, 0.010 * f, t) for t, f in zip(tasks, noise, strict=True)]
    cur = [_record(0, 0.013 * f, t) for t, f in zip(tasks, reversed(noise), strict=True)]
    whole = next(
        r for r in compare_records(base, cur) if r.metric == "step_time" and r.key.task == "all pairs"
    )
    assert whole.status == REGRESSION and whole.ci_low > 1.1
