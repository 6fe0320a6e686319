"""A plan that fits its time budget: what each part of it will cost on this machine, predicted
from the cost model (:mod:`harness.plan.costs`) before anything runs, and the suite's tables chosen
to fit.

The whole command is budgeted: the one-off steps (calibrating the machine, fetching data), the
worker processes' start (each framework's import), every group of runs (interleaved: one run's
epochs after another's, so a group costs the sum of its runs), and the report. Tables of priority
0 always run; the others are added lowest priority first (the suite orders them so that the
page's questions are answered first), each only if the plan still fits; a table that does not
fit is left out and named, with the command that runs it. When even the priority-0 tables do not
fit, nothing runs: :class:`BudgetTooSmall` names the budget that would do.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.errors import UsageError
from harness.plan.costs import CONTENTION, CostModel, RunCost, Shape, run_cost
from harness.plan.requests import Plan, RunRequest, Tier, groups
from harness.plugins import registry

MARGIN = 0.9  # optional tables are added within this share of the budget: predictions err
REPORT_S = 8.0  # building the page, on the reference machine (scaled like fixed costs)
REPORT_PHASE = "report"


class BudgetTooSmall(UsageError):
    """Even the tables that always run (priority 0) do not fit the budget."""


@dataclass(frozen=True)
class Phase:
    """A named part of a plan and its predicted seconds."""

    name: str
    seconds: float


@dataclass
class Estimate:
    """A plan's predicted cost: its phases in the order they happen, and each run's cost."""

    phases: list[Phase] = field(default_factory=list)
    runs: dict[int, RunCost] = field(default_factory=dict)  # id(request) -> its cost

    @property
    def total_s(self) -> float:
        return sum(p.seconds for p in self.phases)

    def run_s(self, request: RunRequest) -> float:
        found = self.runs.get(id(request))
        return found.total_s if found is not None else 0.0


# (implementation, mode, device, twin): the worker process a run needs, as its costs see it (paid
# once: its start, its first run's extra); the schedule names the same process by its side instead
WorkerSlot = tuple[str, str, str, bool]


def worker_slot(request: RunRequest) -> WorkerSlot:
    """The worker process ``request`` runs in (an A/A twin has one of its own)."""
    return (request.impl, request.mode, request.device, request.twin)


def shape_of(request: RunRequest) -> Shape | None:
    """What ``request`` trains, from its task's plug-in, without loading data (``None``: the
    plug-in cannot say, or the network is too large for its FLOPs to be a float)."""
    spec = request.spec
    family = registry.family(spec.task)
    sizes = family.split_sizes(spec)
    if sizes is None:
        return None
    n_train, n_val, n_test = sizes
    try:
        flops, epochs = float(family.train_flops_per_sample(spec)), float(spec.epochs)
    except OverflowError:
        return None
    return Shape(flops, n_train, n_val, n_test, family.steps_per_epoch(spec, n_train), epochs)


def workers_phase(n: int) -> str:
    """The phase that starts ``n`` worker processes (their imports), as the plan and the run name it."""
    return f"start {n} worker processes (imports)"


def fetch_phase(tasks: list[str]) -> str:
    """The phase that fetches the data of ``tasks``."""
    return f"fetch data: {', '.join(tasks)}"


def group_name(group: list[RunRequest]) -> str:
    """A group's phase: ``iris seed 0 on cpu (21 runs + A/A twin)``."""
    first = group[0]
    twins = sum(r.twin for r in group)
    runs = f"{len(group) - twins} run{'s' if len(group) - twins != 1 else ''}" + (
        " + A/A twin" if twins else ""
    )
    return f"{first.network_words()} seed {first.seed} on {first.device} ({runs})"


def estimate(
    plan: Plan,
    model: CostModel,
    cores: int,
    runnable: Callable[[RunRequest], bool] = lambda r: True,
    one_off: list[Phase] | None = None,
    report_s: float | None = REPORT_S,
    warm: frozenset[WorkerSlot] = frozenset(),
) -> Estimate:
    """``plan``'s phases on this machine: ``one_off`` steps first (calibration, data), the workers'
    start, each group, the report (``report_s`` ``None``: none is built). Runs that cannot run
    here (``runnable`` false: no GPU) cost nothing; ``warm``: workers already started that have
    run something (neither their start nor their first run's extra is paid again)."""
    found = Estimate(list(one_off or []))
    requests = [r for r in plan.requests if runnable(r)]
    workers: OrderedDict[WorkerSlot, float] = OrderedDict()
    for request in requests:
        if worker_slot(request) not in warm:
            workers.setdefault(worker_slot(request), 0.0)
    for key in workers:
        workers[key] = model.rates((key[0], key[1], key[2])).start_s
    if workers:  # started together: they share the cores, and none is ready before the slowest
        start = max(max(workers.values()), CONTENTION * sum(workers.values()) / max(1, cores))
        fetch = sum(p.seconds for p in found.phases if p.name.startswith(fetch_phase([])))
        # they import while the data is fetched: what is left of their start once it is
        found.phases.append(Phase(workers_phase(len(workers)), max(start - fetch, 0.1 * start)))
    used: set[WorkerSlot] = set(warm)  # workers that ran something: their first run pays more
    for group in groups(requests):
        total, run_epochs = 0.0, 0.0
        for request in group:
            shape = shape_of(request)
            if shape is None:
                continue
            rates = model.rates((request.impl, request.mode, request.device))
            cost = run_cost(rates, shape, request.eval_repeats, request.step_samples)
            key = worker_slot(request)
            first = rates.first_s if key not in used else 0.0
            used.add(key)
            found.runs[id(request)] = cost
            total += cost.total_s + first
            run_epochs += shape.epochs
        found.phases.append(Phase(group_name(group), model.group_s(total, run_epochs)))
    if report_s is not None:
        found.phases.append(Phase(REPORT_PHASE, report_s))
    return found


@dataclass
class Fitted:
    """The plan chosen for a budget, its estimate, and what was left out (with the estimate of
    the plan that would have kept everything)."""

    plan: Plan
    estimate: Estimate
    budget_s: float
    left_out: list[tuple[Tier, float]] = field(default_factory=list)  # a table and what it would add
    over_budget: bool = False  # the priority-0 tables alone are predicted past a budget not asked for


def fit(plan: Plan, budget_s: float, predict: Callable[[Plan], Estimate], strict: bool = True) -> Fitted:
    """``plan`` cut to fit ``budget_s``: its priority-0 tables (which must fit the budget), then
    each other table, lowest priority first (in file order among equals), if the plan still fits
    :data:`MARGIN` of it. When the priority-0 tables alone do not fit: :class:`BudgetTooSmall` if
    the budget was asked for (``strict``); else (the suite's own budget, on a machine slower than
    it was sized for) they alone, marked :attr:`Fitted.over_budget`, every other table left out."""
    tiers = plan.tiers or [Tier(0, "", [r for r in plan.requests if not r.twin])]
    required = [t for t in tiers if t.priority == 0]
    optional = sorted((t for t in tiers if t.priority > 0), key=lambda t: t.priority)
    limit = budget_s * MARGIN
    kept = list(required)
    current = predict(plan.keeping(_ordered(tiers, kept)))
    if not math.isfinite(current.total_s):
        raise BudgetTooSmall(
            "the runs this suite always makes (priority 0) are too large to predict a cost for; narrow "
            "them (--task, --impl, smaller --set values) or run with --no-budget"
        )
    if current.total_s > budget_s and not strict:
        left_out = [
            (t, predict(plan.keeping(_ordered(tiers, [*kept, t]))).total_s - current.total_s)
            for t in optional
        ]
        return Fitted(plan.keeping(_ordered(tiers, kept)), current, budget_s, left_out, over_budget=True)
    if current.total_s > budget_s:
        raise BudgetTooSmall(
            f"a budget of {budget_s:.0f} s cannot hold even the runs this suite always makes (priority 0: "
            f"predicted {current.total_s:.0f} s on this machine): give --budget {math.ceil(current.total_s)} "
            "or more, or narrow the runs (--task, --impl)"
        )
    left: list[tuple[Tier, float]] = []
    for tier in optional:
        trial = predict(plan.keeping(_ordered(tiers, [*kept, tier])))
        if trial.total_s <= limit:
            kept.append(tier)
            current = trial
        else:
            left.append((tier, trial.total_s - current.total_s))
    chosen = plan.keeping(_ordered(tiers, kept))
    return Fitted(chosen, predict(chosen), budget_s, left)


def top_up(
    left_out: list[Tier], left_s: float, predict: Callable[[list[Tier]], Estimate]
) -> tuple[list[Tier], Estimate]:
    """Of the tables a budget left out (lowest priority first), those that fit ``left_s``, the
    budget's seconds still unspent once the plan's own runs are done (its report's kept aside):
    each is added if the runs added so far and it are predicted within :data:`MARGIN` of it, as
    :func:`fit` adds them. ``predict``: the cost of running those tables' runs now, in the
    workers the plan started. Returns the tables added and their estimate."""
    added: list[Tier] = []
    current = predict([])
    for tier in left_out:
        trial = predict([*added, tier])
        if trial.total_s <= left_s * MARGIN:
            added.append(tier)
            current = trial
    return added, current


def _ordered(tiers: list[Tier], kept: list[Tier]) -> list[Tier]:
    """``kept`` in the suite's own order (which groups run first follows the file)."""
    ids = {id(t) for t in kept}
    return [t for t in tiers if id(t) in ids]


class Tracker:
    """A plan's time left as it runs: the predicted seconds of the phases still to come, scaled by
    how long the finished ones really took against their prediction (with ``prior_s`` seconds of
    agreement assumed, so that one early phase cannot swing it), less what the current phase has
    already taken. A phase the plan did not predict counts as predicted zero."""

    def __init__(self, estimate: Estimate, started: float, prior_s: float = 60.0) -> None:
        self.phases = list(estimate.phases)
        self.prior_s = prior_s
        self.done_predicted = 0.0
        self.done_actual = 0.0
        self.current: Phase | None = None
        self.current_started = started
        # what has already happened before the run started (calibration): done, as predicted
        while self.phases and self.phases[0].name.endswith("(done)"):
            phase = self.phases.pop(0)
            self.done_predicted += phase.seconds
            self.done_actual += phase.seconds

    def extend(self, phases: list[Phase]) -> None:
        """Phases added to the plan as it runs (:func:`top_up`), before its report if it has one.
        They were predicted from this run's own rates, which already hold the correction so far:
        kept divided by it, so that the time left gives them back as predicted."""
        at = len(self.phases) - (1 if self.phases and self.phases[-1].name == REPORT_PHASE else 0)
        ratio = self.ratio
        self.phases[at:at] = [Phase(p.name, p.seconds / ratio) for p in phases]

    def begin(self, name: str, now: float) -> None:
        """Phase ``name`` starts at ``now``: the one before it is over."""
        if self.current is not None:
            self.done_predicted += self.current.seconds
            self.done_actual += now - self.current_started
        index = next((i for i, p in enumerate(self.phases) if p.name == name), None)
        if index is None:
            self.current = Phase(name, 0.0)
        else:
            self.current = self.phases.pop(index)
        self.current_started = now

    @property
    def ratio(self) -> float:
        """Real over predicted seconds so far (1 before anything is known)."""
        return (self.done_actual + self.prior_s) / (self.done_predicted + self.prior_s)

    def left_s(self, now: float) -> float:
        """Seconds left at ``now``."""
        ratio = self.ratio
        later = ratio * sum(p.seconds for p in self.phases)
        if self.current is None:
            return later
        expected = ratio * self.current.seconds
        return later + max(expected - (now - self.current_started), 0.05 * expected)
