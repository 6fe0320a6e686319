"""A/A twins: every group of two or more runs gets an identical second run of one implementation,
in a worker of its own, kept out of every table and comparison; its paired ratio to the run it
repeats is the report's A/A figure; a twin that crashes leaves the figure unavailable, with the
reason, and the rest of its group standing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from harness.errors import UnknownName
from harness.plan.requests import RunRequest, with_twins
from harness.plan.suites import Selection, plan_for
from harness.record import execution
from harness.record.derived import is_twin
from harness.report.data.frame import build_frames
from harness.report.data.paired import aa_figures
from harness.run.faults import FAULT_ENV, ONLY_ENV
from tests.real_runs import real_run


def _requests(*impls: str, seeds: tuple[int, ...] = (0,)) -> list[RunRequest]:
    return [RunRequest("digits", impl, seed=s) for s in seeds for impl in impls]


def test_each_group_of_two_or_more_gets_one_twin_of_the_preferred_default_run() -> None:
    requests = _requests("numpy", "torch", seeds=(0, 1)) + [RunRequest("digits", "torch", mode="fused")]
    out = with_twins(requests, "torch")
    twins = [r for r in out if r.twin]
    assert [(t.impl, t.mode, t.seed) for t in twins] == [("torch", "default", 0), ("torch", "default", 1)]
    assert out.index(twins[0]) == out.index(requests[1]) + 1  # right after the run it repeats
    assert with_twins(_requests("jax"), "torch") == _requests("jax")  # a group of one compares nothing
    assert [r.impl for r in with_twins(_requests("numpy", "jax"), "torch") if r.twin] == ["numpy"]


def test_the_selection_decides_the_twin_and_an_unknown_one_is_refused() -> None:
    base = Selection(tasks=["digits"], impls=["numpy", "jax"])

    def twins(twin: str | None) -> list[str]:
        return [r.impl for r in plan_for(replace(base, twin=twin)).requests if r.twin]

    assert twins(None) == ["numpy"] and twins("jax") == ["jax"] and twins("") == []
    with pytest.raises(UnknownName, match="unknown implementation 'nope'; valid: .*torch"):
        twins("nope")


def _run(tmp_path: Path, status: int = 0) -> list:
    """A real run; ``status`` its expected exit (1 where a fault makes a run crash)."""
    argv = ["--task", "digits", "--impl", "torch", "numpy", "--epochs", "6", "--seeds", "0", "1"]
    done = real_run(tmp_path, *argv)
    assert done.status == status, [(r.impl, r.status, r.reason) for r in done.records if r.status != "ok"]
    return done.records


@pytest.mark.alone
def test_a_twin_repeats_its_original_in_a_worker_of_its_own_and_gives_the_aa_figure(tmp_path: Path) -> None:
    records = _run(tmp_path)
    assert all(execution.problems(r.execution) == [] for r in records)  # the declared facts only
    twins = [r for r in records if is_twin(r)]
    assert len(twins) == 2 and all(t.status == "ok" and t.impl == "torch" for t in twins)
    by_id = {r.run_id: r for r in records}
    for twin in twins:
        original = by_id[twin.execution["twin_of"]]
        assert not is_twin(original) and original.execution["group"] == twin.execution["group"]
        assert (original.seed, original.config, original.mode) == (twin.seed, twin.config, twin.mode)
        assert twin.run_id != original.run_id
    frames = build_frames(records)
    assert not frames.runs["run_id"].isin([t.run_id for t in twins]).any()  # never a run of its own
    figure = aa_figures(frames.rounds, frames.twins)[(twins[0].machine["machine_id"], "digits", "", "cpu")]
    assert figure.ratio is not None and figure.ratio.n_groups == 2 and figure.ratio.n_rounds >= 8
    assert 0.5 < figure.ratio.estimate < 2.0 and figure.tie(figure.ratio.estimate)
    assert "against its identical twin" in figure.sentence("cpu")


def test_a_crashed_twin_makes_the_aa_figure_unavailable_and_its_group_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_ENV, "crash")
    monkeypatch.setenv(ONLY_ENV, "torch#twin")
    records = _run(tmp_path, status=1)
    assert sorted((r.impl, is_twin(r), r.status) for r in records) == [
        ("numpy", False, "ok"),
        ("numpy", False, "ok"),
        ("torch", False, "ok"),
        ("torch", False, "ok"),
        ("torch", True, "crashed"),
        ("torch", True, "crashed"),
    ]
    frames = build_frames(records)
    (figure,) = aa_figures(frames.rounds, frames.twins).values()
    assert figure.ratio is None and "did not finish" in figure.reason and "crashed" in figure.reason
    assert figure.sentence("cpu").startswith("A/A figure on cpu unavailable: its twin of torch")
