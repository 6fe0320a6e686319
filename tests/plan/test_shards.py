"""Shards split a plan by interleaving group: deterministic, disjoint, covering it exactly once."""

from __future__ import annotations

import json

import pytest

from harness.cli.main import main
from harness.errors import UsageError
from harness.plan.requests import RunRequest, groups, parse_shard
from harness.plan.suites import Selection, plan_for


def _run(request: RunRequest) -> str:
    """A run of the plan, whole: its label does not say its network (the step model's points are
    mnist1d seed 0 as the task's own runs are, with other layers)."""
    return json.dumps(request.to_dict(), sort_keys=True)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_the_shards_of_a_plan_cover_it_exactly_once_by_group(n: int) -> None:
    plan = plan_for(Selection(suite="default"))
    shards = [plan.sharded(k, n) for k in range(1, n + 1)]
    labels = [_run(r) for shard in shards for r in shard.requests]
    assert sorted(labels) == sorted(_run(r) for r in plan.requests) and len(set(labels)) == len(labels)
    whole_groups = {tuple(_run(r) for r in g) for g in groups(plan.requests)}
    for shard in shards:
        assert shard.plan_id == plan.plan_id and shard.shard.endswith(f"/{n}")
        assert {tuple(_run(r) for r in g) for g in groups(shard.requests)} <= whole_groups  # whole groups
    again = plan_for(Selection(suite="default")).sharded(1, n)
    assert [_run(r) for r in again.requests] == [_run(r) for r in shards[0].requests]  # deterministic


@pytest.mark.parametrize("text", ["0/2", "3/2", "x", "1/0", "1-2", ""])
def test_a_bad_shard_is_refused_with_the_valid_form(text: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(UsageError, match="expected K/N with 1 <= K <= N"):
        parse_shard(text)
    assert main(["run", "--suite", "smoke", "--shard", text, "--dry-run"]) == 2
    assert "expected K/N" in capsys.readouterr().err


def test_a_plan_id_changes_with_the_plan() -> None:
    assert plan_for(Selection(suite="smoke")).plan_id != plan_for(Selection(suite="smoke", seeds=[5])).plan_id
    assert plan_for(Selection(suite="smoke")).plan_id == plan_for(Selection(suite="smoke")).plan_id
    assert parse_shard(" 2/3 ") == (2, 3)
