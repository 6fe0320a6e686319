"""The A/B gate's measurement: two checkouts (or two Python environments) measured interleaved.

Each side is a checkout of this project (a path, or a git revision checked out into a temporary
worktree) run by a Python of its own, with environment variables of its own. The gated runs of
both sides form one interleaved group (:mod:`harness.run.schedule`): every round, each run of each
side trains one epoch, in a fresh random order. That is repeated for ``pairs`` fresh sets of
worker processes (a process's memory layout and thread placement are part of its speed), seed
``k`` for pair ``k``, so the decision (:mod:`harness.compare.gate`) can resample pairs, then rounds.
A round is a block of a few epochs per run (``epochs_per_round``): the noise of one short epoch
is large on a shared machine, while a block of a quarter of a second is still short against the
minutes over which the machine's speed drifts.

Nothing is timed before both sides have answered: a revision that does not exist, a folder that
is not a checkout of this project, a checkout that speaks another worker protocol, or a Python
without the frameworks is a :class:`~harness.errors.UsageError` (exit 2) with the reason.
Temporary worktrees and every worker are removed on the way out, Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import math
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.errors import UsageError
from harness.plan.budget import BudgetTooSmall, shape_of
from harness.plan.costs import CONTENTION, CostModel, run_cost
from harness.plan.requests import RunRequest
from harness.record.keys import RunKey, run_key
from harness.record.schema import RunRecord
from harness.run import machine
from harness.run.runner import finish
from harness.run.schedule import Group, Pool
from harness.run.worker_client import PROTOCOL, Checkout, WorkerDied

SIDES = ("baseline", "candidate")
WORKER_FILE = Path("harness") / "run" / "worker.py"


@dataclass(frozen=True)
class SideSpec:
    """What the user named for one side."""

    name: str
    source: str  # a git revision, or a path to a checkout
    python: str = ""  # default: the Python running this command
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Side:
    """A side ready to run: where its code is and which commit it is."""

    name: str
    source: str
    checkout: Checkout
    commit: str

    def describe(self) -> str:
        env = " ".join(f"{k}={v}" for k, v in self.checkout.env.items())
        return f"{self.source} ({self.commit[:12] or 'no commit'}){', ' + env if env else ''}"


def git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``git -C repo ARGS``, its output as text (never raises on a non-zero status)."""
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=120)


def _commit_of(root: Path) -> str:
    head = git(root, "rev-parse", "HEAD")
    if head.returncode != 0:
        return ""
    dirty = git(root, "status", "--porcelain", "--untracked-files=no").stdout.strip()
    return head.stdout.strip() + ("+dirty" if dirty else "")


def _python(spec: SideSpec) -> str:
    import sys

    python = spec.python or sys.executable
    if not (Path(python).is_file() or shutil.which(python)):
        raise UsageError(f"{spec.name}: Python {python!r} does not exist")
    return python


def _worktree(spec: SideSpec, repo: Path, stack: contextlib.ExitStack) -> Path:
    found = git(repo, "rev-parse", "--verify", "--quiet", f"{spec.source}^{{commit}}")
    if found.returncode != 0:
        raise UsageError(
            f"{spec.name}: {spec.source!r} is neither a folder nor a git revision of {repo} "
            "(give a path to a checkout, or a revision such as HEAD~1, main, a tag or a commit)"
        )
    folder = Path(tempfile.mkdtemp(prefix=f"mlpbench-ab-{spec.name}-"))
    added = git(repo, "worktree", "add", "--detach", str(folder), found.stdout.strip())
    if added.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise UsageError(f"{spec.name}: cannot check out {spec.source}: {added.stderr.strip()}")

    def remove() -> None:
        git(repo, "worktree", "remove", "--force", str(folder))
        shutil.rmtree(folder, ignore_errors=True)
        git(repo, "worktree", "prune")

    stack.callback(remove)
    return folder


def resolve(spec: SideSpec, stack: contextlib.ExitStack, repo: Path = machine.REPO_ROOT) -> Side:
    """The checkout ``spec`` names; a revision is checked out into a temporary worktree that
    ``stack`` removes. Raises :class:`UsageError` for anything that cannot be a side."""
    path = Path(spec.source).expanduser()
    root = path.resolve() if path.is_dir() else _worktree(spec, repo, stack)
    if not (root / WORKER_FILE).is_file():
        what = "this revision predates" if not path.is_dir() else "it is not a checkout of"
        raise UsageError(
            f"{spec.name}: {spec.source} cannot be driven: {what} this project (no {WORKER_FILE})"
        )
    checkout = Checkout(root=root, python=_python(spec), env=dict(spec.env))
    return Side(spec.name, spec.source, checkout, _commit_of(root))


def handshake(pool: Pool, keys: list[tuple[str, str, str, str]], sides: Mapping[str, Side]) -> None:
    """Start every worker the gate needs and check it can run: the same protocol, the frameworks
    importable. Any failure is a :class:`UsageError` naming the side; nothing has been timed."""
    for key in keys:
        side = sides[key[0]]
        try:
            ready = pool.get(key).ready
        except WorkerDied as died:
            raise UsageError(
                f"{side.name} {side.describe()}: its {key[1]} worker did not start: {died}"
            ) from died
        if ready.protocol != PROTOCOL:
            raise UsageError(
                f"{side.name} {side.describe()} speaks worker protocol {ready.protocol}, "
                f"this harness {PROTOCOL}: it predates the interleaved schedule; pick a newer revision"
            )
        if ready.error is not None:
            raise UsageError(
                f"{side.name} {side.describe()} cannot run {key[1]}: {ready.error} "
                "(an environment without the frameworks? install them with -c constraints.txt)"
            )


@dataclass(frozen=True)
class GatePlan:
    """The gated runs (one seed each: the pair index replaces it) and how much to measure."""

    requests: list[RunRequest]
    pairs: int = 4  # process pairs measured before the first decision
    rounds: int = 25
    epochs_per_round: int = 4
    threads: int = 1
    order_seed: int = 0
    max_pairs: int = 0  # while it cannot tell, the gate adds pairs up to this many (0: pairs)
    budget_s: float = 600.0  # the whole gate, its first pairs included: no pair that would end beyond it

    @property
    def most_pairs(self) -> int:
        return max(self.pairs, self.max_pairs)

    def for_pair(self, k: int, only: Collection[RunKey] | None = None) -> list[RunRequest]:
        """The requests of pair ``k`` (of ``only`` those runs, when given): seed ``k``, ``rounds``
        blocks of ``epochs_per_round`` epochs (the first block's first epoch, which compiles, is
        never counted)."""
        overrides = {"epochs": self.rounds * self.epochs_per_round}
        return [
            replace(r, seed=k, overrides={**r.overrides, **overrides}, step_samples=0, eval_repeats=1)
            for r in self.requests
            if only is None or run_key(r) in only
        ]


FIRST_SHARE = 0.7  # of the budget, for the first pairs; the rest for pairs added while undecided
MIN_ROUNDS = 4  # below this a pair's interval rests on too few rounds to be worth its process start


def pair_cost_s(plan: GatePlan, model: CostModel, cores: int, rounds: int) -> float:
    """One process pair's predicted seconds with ``rounds`` rounds: both sides' workers starting
    together, then the one interleaved group of both sides' runs."""
    requests = plan.for_pair(0)
    starts = [model.rates((r.impl, r.mode, r.device)).start_s for r in requests] * len(SIDES)
    start = max(max(starts), CONTENTION * sum(starts) / max(1, cores)) if starts else 0.0
    total, epochs = 0.0, 0.0
    for request in replace(plan, rounds=rounds).for_pair(0):
        shape = shape_of(request)
        if shape is None:
            continue
        cost = run_cost(model.rates((request.impl, request.mode, request.device)), shape,
                        request.eval_repeats, request.step_samples)  # fmt: skip
        total += len(SIDES) * cost.total_s
        epochs += len(SIDES) * shape.epochs
    return start + model.group_s(total, epochs)


def fit_gate(plan: GatePlan, model: CostModel, cores: int, spent_s: float = 0.0) -> tuple[GatePlan, float]:
    """``plan`` with its first pairs fitted to :data:`FIRST_SHARE` of what is left of the budget:
    as many rounds per pair as fit (at most its own, at least :data:`MIN_ROUNDS`), and where even
    those do not fit, one pair fewer (at least 2); with each pair's predicted seconds.
    :class:`~harness.plan.budget.BudgetTooSmall`, naming the budget that would do, when 2 pairs of
    :data:`MIN_ROUNDS` rounds do not fit."""
    share = FIRST_SHARE * (plan.budget_s - spent_s)
    for pairs in range(plan.pairs, 1, -1):
        for rounds in range(plan.rounds, MIN_ROUNDS - 1, -1):
            each = pair_cost_s(plan, model, cores, rounds)
            if pairs * each <= share:
                return replace(plan, pairs=pairs, rounds=rounds), each
    each = pair_cost_s(plan, model, cores, MIN_ROUNDS)
    need = math.ceil(spent_s + 2 * each / FIRST_SHARE)
    raise BudgetTooSmall(
        f"--budget {plan.budget_s:.0f}: 2 process pairs of {MIN_ROUNDS} rounds (the fewest that decide) are "
        f"predicted to take {2 * each:.0f} s on this machine, more than the {FIRST_SHARE:.0%} of the "
        f"budget the first pairs may use: give --budget {need} or more, or narrow the gated runs "
        "(--task, --impl)"
    )


def pair_phase(k: int) -> str:
    """Pair ``k`` as a phase of the gate (what its time left follows)."""
    return f"process pair {k + 1}"


class PairCosts:
    """What each gated run costs a process pair, in wall seconds, from the pairs measured so far:
    a pair's wall time shared among its runs by the seconds each run's records account for (its
    worker's import, build, epochs and evaluations on both sides; a worker's import is shared by
    the runs it serves). The estimate of a pair of some runs is the sum of their mean shares."""

    def __init__(self) -> None:
        self.seconds: dict[RunKey, list[float]] = {}

    @staticmethod
    def _own(record: RunRecord) -> float:
        t = record.timings
        parts = [t.import_s if t.worker_runs_before == 0 else 0.0, t.build_s, t.first_epoch_s]
        return sum(v or 0.0 for v in parts) + sum(t.epoch_s) + sum(t.eval_s)

    def add(self, records: list[RunRecord], wall_s: float) -> None:
        own: dict[RunKey, float] = {}
        for record in records:
            own[run_key(record)] = own.get(run_key(record), 0.0) + self._own(record)
        total = sum(own.values())
        for key, seconds in own.items():
            share = wall_s * seconds / total if total > 0 else wall_s / len(own)
            self.seconds.setdefault(key, []).append(share)

    def estimate(self, runs: Collection[RunKey]) -> float:
        return sum(statistics.fmean(self.seconds.get(k, [0.0])) for k in runs)


def measure_pair(
    plan: GatePlan,
    sides: Mapping[str, Side],
    k: int,
    rng: random.Random,
    on_round: Callable[[str], None] = lambda label: None,
    only: Collection[RunKey] | None = None,
) -> list[RunRecord]:
    """Process pair ``k`` of the gated runs (of ``only`` those, when given): fresh workers of both
    sides, one interleaved group; its records (``execution.side`` says whose). Which side's workers
    start first, and come first in the group, is drawn per pair (``provenance.ab_first_side``): a
    fixed order would be a side bias."""
    checkouts = {name: side.checkout for name, side in sides.items()}
    order = list(SIDES)
    rng.shuffle(order)
    pool = Pool(plan.threads, checkouts)
    try:
        requests = plan.for_pair(k, only)
        keys = list(dict.fromkeys((s, r.impl, r.mode, r.device) for s in order for r in requests))
        pool.start(keys)  # every worker imports at once: a third of a pair's time when in turn
        handshake(pool, keys, sides)
        sided = [(s, r) for s in order for r in requests]
        group = Group(sided, pool, "interleaved", rng, on_round, epochs_per_round=plan.epochs_per_round)
        records = group.run()
    except BaseException:
        pool.close(kill=True)
        raise
    pool.close()
    for record in records:
        side = sides[record.execution["side"]]
        pair = {"ab_pair": k, "ab_source": side.source, "ab_first_side": order[0]}
        finish(record, plan.threads, [], pair | {"order_seed": plan.order_seed}, commit=side.commit)
    return records


def measure(
    plan: GatePlan,
    sides: Mapping[str, Side],
    on_pair: Callable[[int, list[RunRecord]], None],
    on_round: Callable[[str], None] = lambda label: None,
    undecided: Callable[[list[RunRecord]], Collection[RunKey]] = lambda records: (),
    on_added: Callable[[int], None] = lambda runs: None,
    started: float | None = None,
    on_start: Callable[[str], None] = lambda name: None,
) -> list[RunRecord]:
    """Run the gate: ``plan.pairs`` process pairs of every gated run; then, while
    ``undecided(records so far)`` names runs the data cannot decide yet, one more pair of just
    those runs (the decided ones are not measured again), up to ``plan.most_pairs``, and only
    while that pair's estimated time (:class:`PairCosts`) ends within ``plan.budget_s`` of
    ``started`` (the command's start: the first pairs count). ``on_added(runs)`` is told each added
    pair's number of runs (both sides); each pair's records go to ``on_pair`` as it ends; returns
    every record."""
    rng = random.Random(plan.order_seed)
    out: list[RunRecord] = []
    costs = PairCosts()
    start = time.monotonic() if started is None else started
    for k in range(plan.most_pairs):
        only: list[RunKey] | None = None
        if k >= plan.pairs:
            only = sorted(set(undecided(out)))
            if not only or time.monotonic() - start + costs.estimate(only) > plan.budget_s:
                break
            on_added(len(plan.for_pair(k, only)) * len(SIDES))
        began = time.monotonic()
        on_start(pair_phase(k))
        records = measure_pair(plan, sides, k, rng, on_round, only)
        costs.add(records, time.monotonic() - began)
        on_pair(k, records)
        out += records
    return out
