"""The schedule with real workers: interleaved rounds in the recorded random order, the
sequential alternative, a worker death costing only the runs it held, and Ctrl-C leaving the
finished records written and no worker behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from harness.run.faults import FAULT_ENV, ONLY_ENV
from harness.run.machine import REPO_ROOT
from harness.store import runs as store
from tests.real_runs import interruptible, real_run

ROUNDS = 6
SUITE = f"""
twin = ""
step_samples = 2
eval_repeats = 1
timeout_s = 120
[[runs]]
tasks = ["iris"]
impls = ["numpy", "torch"]
modes = ["*", "-compile"]
spec = {{ epochs = {ROUNDS} }}
"""


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "pair.toml"
    path.write_text(SUITE)
    return path


def _run(tmp_path: Path, *argv: str) -> tuple[int, list]:
    done = real_run(tmp_path, *argv)
    return done.status, done.records


def _label(record) -> str:  # noqa: ANN001
    return f"{record.impl}[{record.mode}]"


def test_interleaved_rounds_follow_the_recorded_random_order(tmp_path: Path, suite: Path) -> None:
    status, records = _run(tmp_path, "--suite", str(suite), "--seeds", "0")
    plan_order = ["numpy[default]", "torch[default]", "torch[fused]"]
    assert status == 0 and sorted(map(_label, records)) == plan_order
    assert len({r.execution["group"] for r in records}) == 1
    assert all(r.execution["schedule"] == "interleaved" and r.execution["group_size"] == 3 for r in records)
    assert all(r.timings.epoch_rounds == list(range(ROUNDS)) for r in records)
    # every run's round r starts after every run's round r-1: rounds advance together
    starts = {_label(r): r.timings.epoch_started_at for r in records}
    for r in range(1, ROUNDS):
        assert min(s[r] for s in starts.values()) > max(s[r - 1] for s in starts.values())
    # and within a round, the order is the one the recorded seed draws (requests in plan order)
    rng = random.Random(records[0].provenance["order_seed"])
    for r in range(ROUNDS):
        expected = list(plan_order)
        rng.shuffle(expected)
        assert sorted(starts, key=lambda label: starts[label][r]) == expected, f"round {r}"


def test_sequential_runs_each_from_first_epoch_to_last(tmp_path: Path, suite: Path) -> None:
    status, records = _run(tmp_path, "--suite", str(suite), "--seeds", "0", "--schedule", "sequential")
    assert status == 0 and all(r.execution["schedule"] == "sequential" for r in records)
    spans = sorted((r.timings.epoch_started_at[0], r.timings.epoch_started_at[-1]) for r in records)
    for (_, last), (first, _) in zip(spans, spans[1:], strict=False):
        assert first > last  # the next run starts after the previous one's last epoch


def test_a_dying_worker_costs_only_the_run_it_served(
    tmp_path: Path, suite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_ENV, "crash:2")  # torch's workers die at the end of round 2
    monkeypatch.setenv(ONLY_ENV, "torch")
    status, records = _run(tmp_path, "--suite", str(suite), "--seeds", "0")
    by_label = {_label(r): r for r in records}
    assert status == 1
    assert by_label["numpy[default]"].status == "ok"
    assert len(by_label["numpy[default]"].timings.epoch_s) == ROUNDS - 1
    torch = [by_label["torch[default]"], by_label["torch[fused]"]]
    assert [r.status for r in torch] == ["crashed", "crashed"]  # each mode in a worker of its own
    assert all("exited with status 3" in r.reason for r in torch)


def _workers_tagged(tag: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if (
                "harness.run.worker" in " ".join(process.info["cmdline"] or [])
                and process.environ().get("MLPBENCH_TEST_TAG") == tag
            ):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_ctrl_c_keeps_finished_records_and_leaves_no_worker(tmp_path: Path, suite: Path) -> None:
    tag, results = uuid.uuid4().hex, tmp_path / "results"
    env = {**os.environ, "MLPBENCH_TEST_TAG": tag, "PYTHONPATH": str(REPO_ROOT)}
    argv = [sys.executable, "-m", "harness", "run", "--suite", str(suite), "--seeds", "0", "1", "2"]
    proc = subprocess.Popen(
        [*argv, "--results", str(results), "--no-calibrate"],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # wait for the first group's records, then interrupt
        files = list(results.rglob("*.jsonl"))
        if files and len(files[0].read_text().splitlines()) >= 3:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    records, skipped = store.load(results)
    assert skipped == [] and 3 <= len(records) < 9 and all(r.status == "ok" for r in records)
    time.sleep(0.5)
    assert _workers_tagged(tag) == []


@pytest.mark.alone
def test_schedule_sensitivity_fails_on_an_epoch_slowed_after_each_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check of tests/tasks/test_schedule_sensitivity.py, shown failing on the fault it is for:
    numpy's epochs that follow the schedule's pause twice as slow (``paused:1.0``), torch's not.
    Twice, not 1.5x: on digits' 0.1 s numpy epochs five rounds of host noise put an injected 1.5x at
    1.44x [1.23, 1.61] once in CI, the interval's foot under the 1.25 limit; the check is for
    stalls of 2-10x (schedule_slows), and 2x shows it catching one with room for that noise."""
    from harness.compare.paired import schedule_sensitivity, schedule_slows
    from harness.record.derived import pause_ratios

    monkeypatch.setenv(FAULT_ENV, "paused:1.0")
    monkeypatch.setenv(ONLY_ENV, "numpy")
    argv = ["--task", "digits", "--impl", "numpy", "torch", "--epochs", "18", "--epochs-per-round", "3"]
    status, records = _run(tmp_path, *argv)
    assert status == 0
    found = {r.impl: schedule_sensitivity([pause_ratios(r)]) for r in records}
    assert found["numpy"].n_rounds == 5 and schedule_slows(found["numpy"]), found
    assert not schedule_slows(found["torch"]), found


def test_a_group_driven_from_outside_runs_its_rounds_in_the_drivers_order() -> None:
    """begin, advance, end: what a benchmark that puts its own processes in the same rounds uses
    (benchmarks/bare_loop.py --interleaved), without the group's private methods."""
    from harness.plan.requests import RunRequest
    from harness.run.schedule import Group, Pool

    requests = [RunRequest("iris", impl, overrides={"epochs": 4}, step_samples=0, eval_repeats=1)
                for impl in ("numpy", "torch")]  # fmt: skip
    pool = Pool(1)
    try:
        group = Group(requests, pool, "interleaved", random.Random(0))
        group.begin()
        more = [True, True]
        rounds = 0
        while any(more):
            for index in (1, 0):  # the driver's order: torch before numpy in every round
                more[index] = group.advance(index)
            rounds += 1
        records = group.end()
    finally:
        pool.close()
    assert rounds == 4 and [r.impl for r in records] == ["numpy", "torch"]
    assert all(r.status == "ok" and r.timings.epoch_rounds == [0, 1, 2, 3] for r in records)
    numpy, torch = (r.timings.epoch_started_at for r in records)
    assert all(t < n for t, n in zip(torch, numpy, strict=True))  # the driver's order, each round
    assert len({r.execution["group"] for r in records}) == 1


def test_the_progress_says_which_round_of_how_many() -> None:
    """What ``harness run`` shows while a group goes on: its task and seed, and the round done of
    the rounds planned (blocks of two epochs: four epochs are two rounds)."""
    from harness.plan.requests import RunRequest
    from harness.run.schedule import Group, Pool

    request = RunRequest("iris", "numpy", seed=3, overrides={"epochs": 4}, step_samples=0, eval_repeats=1)
    said: list[str] = []
    pool = Pool(1)
    try:
        records = Group(
            [request], pool, "interleaved", random.Random(0), said.append, epochs_per_round=2
        ).run()
    finally:
        pool.close()
    assert records[0].status == "ok"
    assert said == ["iris seed 3, round 1 of 2 done", "iris seed 3, round 2 of 2 done"]
    # another network of the task than its own is named: several groups of one task and seed apart
    request = RunRequest(
        "iris", "numpy", overrides={"epochs": 3, "hidden": [8], "batch_size": 30}, step_samples=0
    )
    said.clear()
    pool = Pool(1)
    try:
        Group([request], pool, "interleaved", random.Random(0), said.append, epochs_per_round=3).run()
    finally:
        pool.close()
    assert said == ["iris 4-8-3 b30 seed 0, round 1 of 1 done"]


def test_a_twin_and_its_original_take_turns_being_first() -> None:
    """In every round the two runs of a pair swap who goes first (the rest of the order stays
    random), so a group of a few rounds cannot put the twin second in all of them."""
    from harness.plan.requests import RunRequest
    from harness.run.schedule import Group, Pool

    def request(impl: str, twin: bool = False) -> RunRequest:
        return RunRequest("iris", impl, overrides={"epochs": 6}, step_samples=0, eval_repeats=1, twin=twin)

    pool = Pool(1)
    try:
        group = Group([request("numpy"), request("torch"), request("numpy", twin=True)], pool, "interleaved",
                      random.Random(1))  # fmt: skip
        records = group.run()
    finally:
        pool.close()
    assert [r.status for r in records] == ["ok"] * 3
    original, _, twin = (r.timings.epoch_started_at for r in records)
    twin_first = [t < o for o, t in zip(original, twin, strict=True)]
    assert twin_first in ([True, False] * 3, [False, True] * 3), twin_first
