"""A plan fitted to its budget: the tables that always run, then the others lowest priority first
while the predicted cost fits; a budget too small for the first is refused naming the budget that
would do; the time left follows the phases as they really take."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.plan import budget
from harness.plan.budget import BudgetTooSmall, Estimate, Phase, Tracker
from harness.plan.requests import Plan, RunRequest, Tier


def _tier(priority: int, task: str, seeds: list[int]) -> Tier:
    return Tier(
        priority,
        f"{task} {seeds}",
        [RunRequest(task, impl, seed=s) for impl in ("torch", "jax") for s in seeds],
    )


def _plan() -> Plan:
    tiers = [_tier(0, "iris", [0]), _tier(0, "digits", [0]), _tier(2, "iris", [3]), _tier(1, "iris", [1, 2])]
    return Plan("unit", [r for t in tiers for r in t.requests], tiers=tiers, twin="torch")


def _predict(plan: Plan) -> Estimate:
    """Ten seconds a run, twins included."""
    return Estimate([Phase("runs", 10.0 * len(plan.requests))])


def test_the_tables_that_fit_are_added_lowest_priority_first() -> None:
    plan = _plan()
    # priority 0: 2 groups of 2 runs + a twin each = 60 s; seeds 1-2 add 60 s; seed 3 adds 30 s
    fitted = budget.fit(plan, 140 / budget.MARGIN, _predict)
    assert [t.description for t in fitted.plan.tiers] == ["iris [0]", "digits [0]", "iris [1, 2]"]
    assert [(t.description, extra) for t, extra in fitted.left_out] == [("iris [3]", 30.0)]
    assert sum(r.twin for r in fitted.plan.requests) == 4  # a twin in each group kept
    everything = budget.fit(plan, 1000, _predict)
    assert not everything.left_out and len(everything.plan.tiers) == 4


def test_a_budget_too_small_for_what_always_runs_names_the_one_that_would_do() -> None:
    with pytest.raises(BudgetTooSmall, match=r"give --budget 60 or more"):
        budget.fit(_plan(), 50, _predict)  # priority 0 alone: 60 s


def test_the_suites_own_budget_on_a_slower_machine_runs_what_always_runs_and_says_so() -> None:
    """A budget nobody asked for (the suite's) is a target: a second bench whose measured costs
    put priority 0 just past it runs priority 0, not nothing (seen: 473 s predicted, 470 s budget)."""
    fitted = budget.fit(_plan(), 50, _predict, strict=False)
    assert fitted.over_budget and fitted.estimate.total_s == 60.0
    assert [t.description for t in fitted.plan.tiers] == ["iris [0]", "digits [0]"]
    assert sorted(t.description for t, _ in fitted.left_out) == ["iris [1, 2]", "iris [3]"]
    assert not budget.fit(_plan(), 1000, _predict, strict=False).over_budget


def test_the_time_left_follows_the_phases_as_they_really_take() -> None:
    estimate = Estimate(
        [Phase("calibration (done)", 5.0), Phase("a", 100.0), Phase("b", 100.0), Phase("c", 100.0)]
    )
    tracker = Tracker(estimate, started=0.0, prior_s=0.0)
    tracker.begin("a", 0.0)
    assert tracker.left_s(40.0) == pytest.approx(260.0)  # as predicted, 60 s of "a" to go
    tracker.begin("b", 200.0)  # "a" took twice its prediction: what is left is read twice as long
    assert tracker.ratio == pytest.approx(205 / 105)
    assert tracker.left_s(200.0) == pytest.approx(2 * 205 / 105 * 100.0)
    tracker.begin("unplanned", 250.0)  # a phase nobody predicted adds nothing of its own
    assert tracker.left_s(260.0) == pytest.approx(tracker.ratio * 100.0)


def test_the_gate_cuts_its_rounds_then_its_pairs_to_fit_and_refuses_below_two_of_four() -> None:
    """A pair costs 20 s of process start plus 4 s a round (a fake cost model). 600 s leave 420 s
    for the first pairs: 4 pairs of 21 rounds. 200 s leave 140 s: 4 pairs of 4 rounds (144 s) no
    longer fit, 3 pairs of 6 rounds do. 80 s leave 56 s, less than 2 pairs of 4 rounds (72 s)."""
    from harness.run import ab

    plan = ab.GatePlan(
        [RunRequest("mnist1d", "torch")], pairs=4, rounds=25, epochs_per_round=4, budget_s=600.0
    )

    def cost(gate: ab.GatePlan, model: object, cores: int, rounds: int) -> float:
        return 20.0 + 4.0 * rounds

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ab, "pair_cost_s", cost)
        fitted, each = ab.fit_gate(plan, None, 2)
        assert (fitted.pairs, fitted.rounds, each) == (4, 21, 104.0)
        from dataclasses import replace

        fitted, _ = ab.fit_gate(replace(plan, budget_s=200.0), None, 2)  # 140 s for the first pairs
        assert (fitted.pairs, fitted.rounds) == (3, 6)
        with pytest.raises(BudgetTooSmall, match=r"give --budget 103 or more"):
            ab.fit_gate(replace(plan, budget_s=80.0), None, 2)


def test_the_plan_predicts_a_report_only_when_the_command_builds_one(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """``run`` without ``--report`` builds no page, so its plan has no report phase (it said
    "16s report" all the same, and counted it in what it predicted)."""
    args = ["run", "--suite", "smoke", "--dry-run", "--results", str(tmp_path)]
    assert main(args) == 0
    assert not re.search(r"^\s+\S+\s+report$", capsys.readouterr().err, re.M)
    assert main([*args, "--report", str(tmp_path / "page.html")]) == 0
    assert re.search(r"^\s+\S+\s+report$", capsys.readouterr().err, re.M)


def _tiers_predict(tiers: list[Tier]) -> Estimate:
    """Ten seconds a run of the given tables, twins included (:func:`budget.top_up`'s form)."""
    return _predict(_plan().keeping(tiers))


def test_the_time_left_after_the_planned_runs_takes_what_was_left_out_that_fits() -> None:
    """A plan whose runs went faster than predicted has budget left: the left-out tables that fit it
    are added, lowest priority first, each only if it still fits (as the plan was first fitted)."""
    left = [_tier(1, "iris", [1, 2]), _tier(2, "iris", [3])]  # 60 s and 30 s, twins included
    added, estimate = budget.top_up(left, 100 / budget.MARGIN, _tiers_predict)
    assert [t.description for t in added] == ["iris [1, 2]", "iris [3]"] and estimate.total_s == 90.0
    added, estimate = budget.top_up(left, 50 / budget.MARGIN, _tiers_predict)  # seeds 1-2 do not fit
    assert [t.description for t in added] == ["iris [3]"] and estimate.total_s == 30.0
    assert budget.top_up(left, 20 / budget.MARGIN, _tiers_predict)[0] == []
    assert budget.top_up(left, -5.0, _tiers_predict)[0] == []


def test_runs_added_in_workers_already_running_pay_neither_their_start_nor_a_first_run() -> None:
    from harness.plan.costs import CostModel, Rates

    model = CostModel({("numpy", "default", "cpu"): Rates(1e-3, 1e-9, start_s=5.0, first_s=2.0)})
    plan = Plan("unit", [RunRequest("iris", "numpy", seed=s) for s in (1, 2)], twin="")
    cold = budget.estimate(plan, model, cores=2, report_s=None)
    warm = budget.estimate(
        plan, model, cores=2, report_s=None, warm=frozenset({budget.worker_slot(plan.requests[0])})
    )
    assert [p.name for p in cold.phases][0] == budget.workers_phase(1)
    assert not any(p.name == budget.workers_phase(1) for p in warm.phases)
    assert cold.total_s - warm.total_s == pytest.approx(5.0 + 2.0)  # its start, one first run


def test_phases_added_as_the_plan_runs_come_before_its_report() -> None:
    tracker = Tracker(Estimate([Phase("a", 10.0), Phase(budget.REPORT_PHASE, 5.0)]), started=0.0)
    tracker.extend([Phase("b", 20.0)])
    assert [p.name for p in tracker.phases] == ["a", "b", budget.REPORT_PHASE]
    tracker.begin("b", 0.0)  # found by name, as a planned phase is
    assert tracker.left_s(0.0) == pytest.approx(10.0 + 20.0 + 5.0)
