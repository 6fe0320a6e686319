"""Running a plan's groups on a Ray cluster bound to this machine: the same records as a local
run, a dead task costing its group only, and clear errors before anything runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.run.faults import RAY_KILL_ENV
from tests.real_runs import real_run

pytest.importorskip("ray")

SUITE = """
step_samples = 2
eval_repeats = 1
timeout_s = 180
seeds = [0]
[[runs]]
tasks = ["iris", "digits"]
impls = ["jax", "numpy"]
spec = { epochs = 3 }
"""


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(SUITE)
    return path


def _run(tmp_path: Path, name: str, *argv: str) -> tuple[int, list]:
    done = real_run(tmp_path, *argv, name=name)
    return done.status, done.records


def _key(record) -> tuple:  # noqa: ANN001
    return (record.task, record.impl, record.mode, record.device, record.seed, record.status)


def test_ray_runs_the_groups_as_a_local_run_would(tmp_path: Path, suite: Path) -> None:
    status, local = _run(tmp_path, "local", "--suite", str(suite))
    assert status == 0
    status, on_ray = _run(tmp_path, "ray", "--suite", str(suite), "--executor", "ray")
    assert status == 0
    assert sorted(map(_key, on_ray)) == sorted(map(_key, local))
    assert all(set(r.to_dict()) == set(local[0].to_dict()) for r in on_ray)  # the same schema
    assert {r.execution["schedule"] for r in on_ray} == {"interleaved"}
    assert all(
        r.machine["machine_id"] and r.provenance["plan_id"] == local[0].provenance["plan_id"] for r in on_ray
    )
    assert sum(r.execution.get("twin", False) for r in on_ray) == 2  # one per group


@pytest.mark.slow  # a third run and a second Ray cluster: about 20 s more
def test_a_dead_ray_task_costs_its_group_only(
    tmp_path: Path, suite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Ray task of the iris group dies: its runs are crashed, digits' complete."""
    monkeypatch.setenv(RAY_KILL_ENV, "iris")
    status, killed = _run(tmp_path, "killed", "--suite", str(suite), "--executor", "ray")
    assert status == 1
    by_task = {t: [r for r in killed if r.task == t] for t in ("iris", "digits")}
    assert [r.status for r in by_task["iris"]] == ["crashed", "crashed", "crashed"]  # its A/A twin too
    assert all("the Ray task running this group died" in r.reason for r in by_task["iris"])
    assert [r.status for r in by_task["digits"]] == ["ok", "ok", "ok"]


def test_an_unreachable_cluster_or_no_ray_exits_2_and_runs_nothing(
    tmp_path: Path, suite: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    status, records = _run(
        tmp_path, "r", "--suite", str(suite), "--executor", "ray", "--address", "127.0.0.1:1"
    )
    assert status == 2 and records == []
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    status, records = _run(tmp_path, "r", "--suite", str(suite), "--executor", "ray")
    assert status == 2 and records == []
    assert "pip install -c constraints.txt ray" in capsys.readouterr().err
