"""Runs a plan: its runs in groups measured together (:mod:`harness.run.schedule`), each group's
records written as soon as the group is done.

Frameworks never share a process (thread pools, GPU memory, Keras' once-per-process backend),
and a crash or a hang costs the runs its worker held: the worker is killed, the runs recorded as
``crashed`` or ``timeout``, and a fresh worker takes the next ones. Runs that cannot happen here
(framework not installed, no GPU, unknown mode) are recorded as ``unavailable`` without starting
a worker. The library never prints: what a person sees while it runs goes through an
:class:`Observer`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness.errors import UsageError
from harness.plan import budget
from harness.plan.requests import Plan, RunRequest, groups
from harness.plugins import registry
from harness.record import keys
from harness.record.schema import RunRecord, unfinished
from harness.run import calibration, cluster, machine, schedule
from harness.run.stamp import finish
from harness.store.calibration import Entry
from harness.store.runs import RecordWriter

EXECUTORS = ("local", "ray")


class Observer(Protocol):
    """Told what happens while a plan runs (the CLI shows it; the library never prints)."""

    def log(self, message: str) -> None: ...

    def start(self, label: str) -> None: ...

    def done(self, record: RunRecord) -> None: ...

    def skip(self) -> None: ...

    def phase(self, name: str) -> None: ...


class Silent:
    """An :class:`Observer` that shows nothing."""

    def log(self, message: str) -> None:
        pass

    def start(self, label: str) -> None:
        pass

    def done(self, record: RunRecord) -> None:
        pass

    def skip(self) -> None:
        pass

    def phase(self, name: str) -> None:
        pass


@dataclass
class Outcome:
    """What a plan produced: the records written and where."""

    path: Path
    records: list[RunRecord]
    paths: list[Path] = field(default_factory=list)  # one per machine that ran (a cluster: several)

    @property
    def all_ok_or_unavailable(self) -> bool:
        return all(r.status in ("ok", "unavailable") for r in self.records)


def preflight_reason(request: RunRequest, info: registry.ImplInfo, here: bool = True) -> str | None:
    """Why ``request`` cannot run, found without starting a worker; ``None`` if it may. ``here``:
    the runs happen on this machine, so its GPUs are the ones to check (a cluster's nodes have
    their own, checked by the cluster)."""
    if request.mode not in info.modes:
        return info.mode_reason(request.mode) or f"{info.name}: no such mode"
    missing = info.unavailable_reason()
    if missing:
        return missing
    if request.device == "gpu":
        if not info.supports_gpu:
            return f"{info.name} does not support GPUs"
        return machine.gpu_reason() if here else None
    return None


def _runnable_devices(plan: Plan) -> list[str]:
    devices = {r.device for r in plan.requests}
    return [d for d in ("cpu", "gpu") if d in devices and (d == "cpu" or machine.gpu_reason() is None)]


def _task(plan: Plan, requests: list[RunRequest]) -> cluster.GroupTask:
    return cluster.GroupTask(
        [r.to_dict() for r in requests],
        plan.threads,
        plan.schedule,
        plan.warm_up,
        plan.order_seed,
        plan.calibrate,
        plan.provenance(),
    )


def worker_keys(requests: list[RunRequest]) -> list[schedule.WorkerKey]:
    """The worker processes ``requests`` need, one per implementation, mode and device (an A/A
    twin one of its own), in the order they are first needed."""
    keys = [(schedule.TWIN_SIDE if r.twin else "", r.impl, r.mode, r.device) for r in requests]
    return list(dict.fromkeys(keys))


def prepare_data(requests: list[RunRequest], observer: Observer) -> None:
    """Fetch (download, generate, cache) the data of every task the runs need and that is not at
    hand yet, before the first run: a step of its own, while the workers import. A dataset that
    cannot be had is said here and costs only the runs that need it (they record the error)."""
    missing = {}
    for request in requests:
        spec = request.spec
        if (spec.task, spec.split_seed) not in missing and not registry.family(spec.task).data_ready(spec):
            missing[(spec.task, spec.split_seed)] = spec
    if missing:
        observer.phase(budget.fetch_phase(sorted({task for task, _ in missing})))
    for spec in missing.values():
        family = registry.family(spec.task)
        observer.start(f"fetch data: {spec.task}")
        try:
            family.prepare(spec)
        except Exception as exc:  # its runs record the same error; the others go on
            observer.log(f"data for {spec.task} could not be had: {exc}")


# Asked once the plan's groups are done, with the workers running: more runs to make in them (none: stop).
More = Callable[[frozenset[budget.WorkerSlot]], list[RunRequest]]


def _run_local(
    plan: Plan,
    plan_groups: list[list[RunRequest]],
    observer: Observer,
    store: Callable[[RunRecord], None],
    more: More | None = None,
) -> None:
    """Every group through this machine's workers, every worker started at once before the first
    group (their imports overlap each other and the data's fetch); then what ``more`` adds, given
    the workers that are running. On Ctrl-C every worker is killed."""
    pool = schedule.Pool(plan.threads)
    rng = random.Random(plan.order_seed)
    try:
        while plan_groups:
            runs = [r for g in plan_groups for r in g]
            keys = [k for k in worker_keys(runs) if k not in pool.workers]
            pool.start(keys)  # they import while the data is fetched
            prepare_data(runs, observer)
            if keys:
                observer.phase(budget.workers_phase(len(keys)))
                observer.start(f"start {len(keys)} worker processes")
                pool.wait_ready(keys)  # nothing is timed while a framework still imports beside it
            for requests in plan_groups:
                observer.phase(budget.group_name(requests))
                observer.start(f"{requests[0].label()} and {len(requests) - 1} more")
                block = max(r.epochs_per_round for r in requests)
                group = schedule.Group(
                    requests, pool, plan.schedule, rng, observer.start, plan.warm_up, block
                )
                for record in group.run():
                    store(record)
            plan_groups = groups(more(_slots(pool))) if more is not None else []
            more = None  # asked once
    except BaseException:
        pool.close(kill=True)
        raise
    pool.close()


def _slots(pool: schedule.Pool) -> frozenset[budget.WorkerSlot]:
    """The pool's live workers as the cost model names them (an A/A twin by ``twin``, not its side)."""
    return frozenset(
        (impl, mode, device, side == schedule.TWIN_SIDE) for side, impl, mode, device in pool.workers
    )


def run_plan(
    plan: Plan, results_dir: Path, observer: Observer | None = None, more: More | None = None
) -> Outcome:
    """Run every request of ``plan``; append each record to a new file under ``results_dir``.
    On Ctrl-C every worker is killed and the records of the finished groups stay written.
    ``more`` (this machine only): asked once the plan's groups are done, with the workers still
    running, for runs to add (runs this machine can make; each record is stamped with the plan's
    provenance as it is when the record is written, so ``more`` may update the plan's notes)."""
    if plan.executor not in EXECUTORS:
        raise UsageError(f"unknown executor {plan.executor!r}; valid: {', '.join(EXECUTORS)}")
    if plan.schedule not in schedule.SCHEDULES:
        raise UsageError(f"unknown schedule {plan.schedule!r}; valid: {', '.join(schedule.SCHEDULES)}")
    observer = observer or Silent()
    entries: list[Entry] = []
    if plan.executor == "ray":
        cluster.check(plan.address)  # before anything runs: Ray installed, the head reachable
    elif plan.calibrate:  # on a cluster each node calibrates itself
        path = calibration.cache_file(results_dir)
        entries = calibration.calibrate(_runnable_devices(plan), plan.threads, path, log=observer.log)
    writers: dict[str, RecordWriter] = {}
    records: list[RunRecord] = []

    def store(record: RunRecord, finished: bool = False) -> None:
        if not finished:  # a Ray node stamps its own
            finish(record, plan.threads, entries, plan.provenance())
        machine_id = keys.machine_id(record)
        if machine_id not in writers:
            writers[machine_id] = RecordWriter(results_dir, machine_id, machine.git_commit(), plan.name)
        writers[machine_id].append(record)
        records.append(record)
        observer.done(record)

    here = plan.executor == "local"

    def reason_of(request: RunRequest) -> str | None:
        return preflight_reason(request, registry.get(request.impl), here)

    runnable = []
    for request in plan.requests:
        info = registry.get(request.impl)
        reason = reason_of(request)
        if reason is None:
            runnable.append(request)
        elif not plan.says_first(request, reason, reason_of):
            observer.skip()  # one unavailable record per implementation, task and mode says it
        else:
            store(unfinished(request.identity(info), "unavailable", reason))
    if plan.executor == "ray":
        for group, finished in cluster.run_groups(
            groups(runnable), lambda g: _task(plan, g), plan.address, plan.threads, plan.accelerator_type
        ):
            for record in group:
                store(record, finished)
    else:
        _run_local(plan, groups(runnable), observer, store, more)
    this = machine.machine_info()["machine_id"]
    if this not in writers:  # a plan that ran elsewhere still names its file here
        writers[this] = RecordWriter(results_dir, this, machine.git_commit(), plan.name)
    return Outcome(writers[this].path, records, [w.path for w in writers.values()])
