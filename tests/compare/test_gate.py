"""The A/B gate's decision rule on records made by hand: pass, regression, cannot tell, and a
crashed side never passing."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from harness.cli.exits import for_verdict
from harness.compare.gate import GateRule, decide
from harness.compare.verdicts import CANNOT_TELL, PASS, REGRESSION
from harness.record.schema import RunRecord, Timings

ROUNDS = 20


def _record(
    side: str, pair: int, steps_s: np.ndarray, accuracy: float = 0.9, status: str = "ok"
) -> RunRecord:
    epochs = list(steps_s * 10)
    return RunRecord(
        task="digits", impl="jax", framework="jax", device="cpu", seed=pair, status=status,
        reason="" if status == "ok" else "RuntimeError: injected failure",
        timings=Timings(epoch_s=epochs, first_epoch_s=1.0, epoch_rounds=list(range(len(epochs) + 1))),
        steps_per_epoch=10, n_train=640, test_accuracy=accuracy,
        execution={"schedule": "interleaved", "group": f"pair{pair}", "side": side},
    )  # fmt: skip


def _records(factor: float, noise: float, seed: int = 0, accuracy_drop: float = 0.0) -> list[RunRecord]:
    rng = np.random.default_rng(seed)
    out = []
    for pair in range(3):
        drift = 0.002 * np.exp(np.cumsum(rng.normal(0, 0.05, ROUNDS)))  # the machine wanders
        out.append(_record("baseline", pair, drift * np.exp(rng.normal(0, noise, ROUNDS))))
        cand = drift * factor * np.exp(rng.normal(0, noise, ROUNDS))
        out.append(_record("candidate", pair, cand, 0.9 - accuracy_drop))
    return out


def test_same_code_passes_and_a_clear_slowdown_is_a_regression() -> None:
    result = decide(_records(1.0, 0.01))
    assert result.verdict == PASS and for_verdict(result.verdict) == 0
    step = next(r for r in result.rows if r.metric == "step_time")
    assert step.estimate == pytest.approx(1.0, abs=0.01) and step.high < 1.05
    slow = decide(_records(1.10, 0.01))
    assert slow.verdict == REGRESSION and for_verdict(slow.verdict) == 1
    assert next(r for r in slow.rows if r.metric == "step_time").low > 1.02


def test_noise_too_large_to_tell_cannot_tell_not_a_pass() -> None:
    result = decide(_records(1.0, 0.30, seed=0))  # same code, but rounds too noisy to rule out 5%
    assert result.verdict == CANNOT_TELL and for_verdict(result.verdict) == 3


def test_an_accuracy_drop_is_a_regression() -> None:
    result = decide(_records(1.0, 0.01, accuracy_drop=0.03))
    row = next(r for r in result.rows if r.metric == "test_accuracy")
    assert row.verdict == REGRESSION and row.estimate == pytest.approx(-0.03)


def test_a_crashed_side_cannot_tell_with_the_reason() -> None:
    records = _records(1.0, 0.01)
    records[1] = _record("candidate", 0, np.ones(ROUNDS) * 0.002, status="crashed")
    result = decide(records)
    assert result.verdict == CANNOT_TELL
    assert all(
        "candidate crashed in 1 run(s): RuntimeError: injected failure" in r.detail for r in result.rows
    )


def test_the_rule_has_a_margin_below_the_threshold() -> None:
    rule = GateRule(threshold=0.05, margin=0.02)
    assert "beyond +5%" in rule.describe() and "beyond +2.0%" in rule.describe()


def test_each_added_look_pays_with_a_stricter_interval_for_a_regression() -> None:
    assert GateRule(looks=1).strict_confidence == pytest.approx(0.98)
    assert GateRule(looks=7).strict_confidence == pytest.approx(1 - 0.02 / 7)
    records = _records(1.06, 0.08, seed=3)  # slower, but only just clear of the margin at 98%
    one, seven = decide(records, GateRule(looks=1)), decide(records, GateRule(looks=7))
    step = [next(r for r in x.rows if r.metric == "step_time") for x in (one, seven)]
    assert step[0].estimate == step[1].estimate  # the same estimate and 95% interval
    assert "99.71% interval" in step[1].detail and "98.00% interval" in step[0].detail
    strict_low = [float(r.detail.split("[")[1].split(",")[0]) for r in step]
    assert strict_low[1] < strict_low[0]  # wider at seven looks


def test_the_gate_adds_pairs_of_the_runs_it_cannot_tell_and_stops_when_it_can(monkeypatch) -> None:
    """``harness.run.ab.measure``: past ``pairs``, one pair at a time of just the runs ``undecided``
    names (a run already decided is not measured again), never beyond ``max_pairs``, and never a
    pair whose estimated time would end beyond the budget."""
    from harness.plan.requests import RunRequest
    from harness.run import ab

    noise = {"jax": 0.01, "torch": 0.3}  # jax is decided by its first pairs, torch is not
    clock = [0.0]
    measured: list[list[str]] = []

    def fake_pair(plan, sides, k, rng, on_round, only=None):  # noqa: ANN001, ANN202
        out = []
        impls = [r.impl for r in plan.for_pair(k, only)]
        measured.append(impls)
        for impl in impls:
            rng_k = np.random.default_rng([k, len(impl)])
            base = 0.002 * np.exp(rng_k.normal(0, noise[impl], ROUNDS))
            cand = base * np.exp(rng_k.normal(0, noise[impl], ROUNDS))
            out += [_record("baseline", k, base), _record("candidate", k, cand)]
            for r in out[-2:]:
                r.impl, r.timings.build_s = impl, 10.0
        clock[0] += 60.0 * len(impls)  # a run costs a pair 60 s
        return out

    monkeypatch.setattr(ab, "measure_pair", fake_pair)
    monkeypatch.setattr(ab.time, "monotonic", lambda: clock[0])
    requests = [RunRequest(task="digits", impl=i, device="cpu", seed=0, mode="default") for i in noise]
    plan = ab.GatePlan(requests, pairs=2, max_pairs=6, budget_s=1e6)
    added: list[int] = []

    def undecided(records):  # noqa: ANN001, ANN202
        return decide(records, GateRule(looks=5)).undecided_runs

    records = ab.measure(plan, {}, lambda k, r: None, undecided=undecided, on_added=added.append)
    assert measured[:2] == [["jax", "torch"]] * 2  # the first pairs measure every run
    assert all(m == ["torch"] for m in measured[2:]) and len(measured) == 6  # then only torch, to the cap
    assert added == [2] * 4  # each added pair: one run, both sides
    assert {r.impl for r in records if r.seed >= 2} == {"torch"}
    # The budget: after two pairs (240 s), a torch-only pair is estimated at about 60 s.
    clock[0], measured[:] = 0.0, []
    ab.measure(replace(plan, budget_s=250.0), {}, lambda k, r: None, undecided=undecided)
    assert len(measured) == 2  # 240 + 60 > 250
    clock[0], measured[:] = 0.0, []
    ab.measure(replace(plan, budget_s=310.0), {}, lambda k, r: None, undecided=undecided)
    assert len(measured) == 3  # 240 + about 60 <= 310; then 300 + 60 > 310
    clock[0], measured[:] = 0.0, []
    ab.measure(plan, {}, lambda k, r: None)  # nothing undecided: the first pairs only
    assert len(measured) == 2
