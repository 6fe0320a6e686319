"""The A/B gate end to end with real workers: same code passes, a slowed candidate fails, a dying
candidate cannot tell (never a pass), bad input stops before anything runs, and no worktree
or worker is left behind, Ctrl-C included."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
import venv
from pathlib import Path

import psutil
import pytest

from harness.cli.main import main
from harness.run.faults import FAULT_ENV
from harness.run.machine import REPO_ROOT
from tests.real_runs import interruptible

# Small and lenient on purpose: this proves the machinery; the gate's statistical power on this
# machine is measured by benchmarks/gate_validation.py and stated in the README. numpy: a real
# run of the task's code in each checkout, without a framework's import and compilation in every
# worker of every pair (jax's made these tests three times as long).
FAST = [
    "--suite",
    "smoke",
    "--task",
    "digits",
    "--impl",
    "numpy",
    "--pairs",
    "2",
    "--rounds",
    "6",
    "--epochs-per-round",
    "3",
]
LENIENT = ["--threshold", "25%", "--margin", "10%"]


def _ab(tmp_path: Path, *argv: str) -> int:
    return main(["ab", *FAST, *LENIENT, "--results", str(tmp_path / "results"), *argv])


def _worktrees() -> list[str]:
    out = subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "list"], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if "mlpbench-ab-" in line]


@pytest.mark.alone  # its verdicts rest on measured step times
def test_same_code_passes_and_a_slowed_candidate_fails(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    summary = tmp_path / "summary.md"
    assert _ab(tmp_path, "--baseline", "HEAD", "--candidate", ".", "--markdown", str(summary)) == 0
    out = capsys.readouterr().out
    assert "A/B gate: PASS" in out and "digits numpy default cpu" in out
    assert summary.read_text().startswith("### A/B benchmark gate: ✅ pass")
    assert _worktrees() == []  # the baseline's temporary worktree is gone
    slow = ["--baseline", ".", "--candidate", ".", "--candidate-env", f"{FAULT_ENV}=slow:0.6"]
    assert _ab(tmp_path, *slow) == 1
    assert "A/B gate: REGRESSION" in capsys.readouterr().out
    records = list((tmp_path / "results" / "ab").rglob("*.jsonl"))
    assert len(records) == 2
    for path in records:  # at least the 2 pairs asked for, more where a look could not yet decide
        sides = [json.loads(line)["execution"]["side"] for line in path.read_text().splitlines()]
        assert len(sides) >= 4 and sides.count("baseline") == sides.count("candidate"), sides


def test_a_dying_candidate_cannot_tell_never_a_pass(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["--baseline", ".", "--candidate", ".", "--candidate-env", f"{FAULT_ENV}=crash:1"]
    assert _ab(tmp_path, *argv) == 3
    out = capsys.readouterr().out
    assert "A/B gate: CANNOT TELL" in out and "candidate crashed" in out


def test_bad_input_exits_2_and_runs_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert _ab(tmp_path, "--baseline", "no-such-revision-xyz") == 2
    assert "neither a folder nor a git revision" in capsys.readouterr().err
    assert _ab(tmp_path, "--candidate", str(tmp_path)) == 2
    assert "not a checkout of this project" in capsys.readouterr().err
    bare = tmp_path / "bare"
    venv.create(bare, with_pip=False)
    assert _ab(tmp_path, "--baseline", ".", "--candidate-python", str(bare / "bin" / "python")) == 2
    assert "candidate" in capsys.readouterr().err
    assert not (tmp_path / "results" / "ab").exists() or not list(
        (tmp_path / "results" / "ab").rglob("*.jsonl")
    )
    with pytest.raises(SystemExit) as stop:
        _ab(tmp_path, "--pairs", "0")
    assert stop.value.code == 2
    assert _worktrees() == []


def _tagged(tag: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if "harness.run.worker" in " ".join(process.info["cmdline"] or []) and (
                process.environ().get("MLPBENCH_TEST_TAG") == tag
            ):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_ctrl_c_leaves_no_worker_and_no_worktree(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex
    env = {**os.environ, "MLPBENCH_TEST_TAG": tag, "PYTHONPATH": str(REPO_ROOT)}
    argv = [sys.executable, "-m", "harness", "ab", *FAST, "--rounds", "40", "--baseline", "HEAD"]
    proc = subprocess.Popen(
        [*argv, "--results", str(tmp_path / "results")],
        env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=interruptible,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(_tagged(tag)) < 2:  # both sides' workers are up
        time.sleep(0.2)
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    time.sleep(0.5)
    assert _tagged(tag) == [] and _worktrees() == []
