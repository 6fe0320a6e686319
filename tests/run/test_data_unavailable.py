"""A dataset that cannot be had costs only the runs that need it: MNIST offline with an empty data
folder leaves its runs ``unavailable`` with the reason (what was tried, how to provide it), and
iris, in the same plan, runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main
from harness.store import runs as store


def test_a_missing_dataset_makes_its_runs_unavailable_and_the_others_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPBENCH_DATA_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("MLPBENCH_OFFLINE", "1")
    argv = ["run", "--task", "iris", "mnist", "--impl", "numpy", "--seeds", "0", "--epochs", "3",
            "--no-calibrate", "--no-twin", "--results", str(tmp_path / "results")]  # fmt: skip
    assert main(argv) == 0  # unavailable is not a failure of the harness
    records = {r.task: r for r in store.load(tmp_path / "results")[0]}
    assert records["iris"].status == "ok"
    mnist = records["mnist"]
    assert mnist.status == "unavailable", mnist.reason
    assert "MNIST is not available" in mnist.reason and "mnist.pkl.gz" in mnist.reason
    assert "MLPBENCH_OFFLINE is set, so no network source was tried" in mnist.reason
