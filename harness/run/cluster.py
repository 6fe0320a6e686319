"""Running a plan's groups on a Ray cluster: each interleaving group is one Ray task, on a node that
has what it needs, holding the node's benchmark slot while it times.

Every node is started with one unit of the custom resource ``bench_slot`` (``ray start ...
--resources '{"bench_slot": 1}'``) and every task asks for one, so a node times one group at a
time: two groups on one node would measure each other. A gpu group also asks for a GPU (and for
an ``accelerator_type`` when the plan names one). On the node the task runs the same machinery as
a local run (:mod:`harness.run.schedule`: worker processes, rounds), finishes its records with
that node's machine, versions and calibration, and returns them; the driver writes them through
the one store. A task that dies (its process killed, its node lost) costs its group: those runs
are recorded ``crashed`` with Ray's reason, and the other groups go on. Ray never retries a task
(``max_retries=0``): a half-timed group run again would not be the group that was planned.

Nodes run the code at the same path as the driver, in a Python with the frameworks installed
(a shared checkout, or the same provisioning on every node); the task checks that it can.
"""

from __future__ import annotations

import os
import random
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.errors import UsageError
from harness.plan.requests import RunRequest
from harness.plugins.registry import get
from harness.record.schema import RunRecord, unfinished
from harness.run import calibration, machine
from harness.run.faults import ray_task_fault
from harness.run.stamp import finish

SLOT = "bench_slot"
INSTALL = "pip install -c constraints.txt ray  (or: tox -e ray)"


@dataclass(frozen=True)
class GroupTask:
    """What a node needs to run one group: its requests and the plan's policy."""

    requests: list[dict[str, Any]]
    threads: int
    schedule: str
    warm_up: bool
    order_seed: int
    calibrate: bool
    provenance: dict[str, Any] = field(default_factory=dict)  # the plan's, for the node's stamp


def import_ray() -> Any:
    """Ray, or a :class:`UsageError` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise UsageError(f"--executor ray needs Ray, which is not installed here: {INSTALL}") from exc
    return ray


def reachable(address: str, timeout_s: float = 5.0) -> str | None:
    """``None`` when ``host:port`` (or ``ray://host:port``) accepts a connection, else why not:
    Ray itself would wait for an unreachable head for minutes."""
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        return None if address in ("auto", "local") else f"{address!r} is not HOST:PORT"
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout_s):
            return None
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


def check(address: str | None) -> None:
    """:class:`UsageError` unless Ray is installed and ``address`` (if given) answers."""
    import_ray()
    problem = reachable(address) if address else None
    if problem:
        raise UsageError(f"cannot reach the Ray cluster at {address}: {problem}; nothing was run")


def connect(ray: Any, address: str | None, cpus: int) -> None:
    """Join the cluster at ``address``, or start a one-node cluster on this machine (bound to
    127.0.0.1, with one benchmark slot) when there is none; an unreachable address is a
    :class:`UsageError` naming it and Ray's reason, before anything runs."""
    env = {k: v for k, v in os.environ.items() if k.startswith("MLPBENCH_")}
    runtime_env = {"env_vars": {**env, "PYTHONPATH": str(machine.REPO_ROOT)}}
    try:
        if address:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
        else:
            ray.init(
                num_cpus=cpus, resources={SLOT: 1}, include_dashboard=False, runtime_env=runtime_env,
                _node_ip_address="127.0.0.1", log_to_driver=False,
            )  # fmt: skip
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError or its own types
        where = address or "a new local cluster"
        raise UsageError(f"cannot use the Ray cluster at {where}: {type(exc).__name__}: {exc}") from exc


def run_on_node(task: GroupTask) -> list[dict[str, Any]]:
    """The task's body, on the node: the group through this node's workers, its records finished
    with this node's machine and calibration."""
    from harness.run.schedule import Group, Pool

    requests = [RunRequest.from_dict(r) for r in task.requests]
    ray_task_fault(requests[0].task)
    entries = []
    if task.calibrate:
        path = calibration.cache_file(machine.REPO_ROOT / "results")
        entries = calibration.calibrate([requests[0].device], task.threads, path)
    pool = Pool(task.threads)
    try:
        group = Group(
            requests,
            pool,
            task.schedule,
            random.Random(task.order_seed),
            warm_up=task.warm_up,
            epochs_per_round=max(r.epochs_per_round for r in requests),
        )
        records = group.run()
    finally:
        pool.close(kill=True)
    return [finish(r, task.threads, entries, task.provenance).to_dict() for r in records]


def _options(requests: list[RunRequest], threads: int, accelerator: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {"num_cpus": threads, "resources": {SLOT: 1}, "max_retries": 0}
    if requests[0].device == "gpu":
        options["num_gpus"] = 1
        if accelerator:
            options["accelerator_type"] = accelerator
    return options


def _ended(requests: list[RunRequest], status: str, reason: str) -> list[RunRecord]:
    return [unfinished(request.identity(get(request.impl)), status, reason) for request in requests]


def _missing(requests: list[RunRequest], resources: dict[str, float]) -> str | None:
    """Why no node of the cluster can take this group (Ray would wait for one forever)."""
    if resources.get(SLOT, 0) < 1:
        hint = "--resources '{\"" + SLOT + "\": 1}'"
        return f"no node of the Ray cluster has the {SLOT} resource (start each node with {hint})"
    if requests[0].device == "gpu" and resources.get("GPU", 0) < 1:
        return "no node of the Ray cluster has a GPU"
    return None


def run_groups(
    groups: list[list[RunRequest]],
    task: Callable[[list[RunRequest]], GroupTask],
    address: str | None,
    cpus: int,
    accelerator: str | None = None,
) -> Iterator[tuple[list[RunRecord], bool]]:
    """Submit every group as a Ray task and yield each group's records as it ends, with whether
    they were finished on a node (``False``: the task died and its records were made here)."""
    ray = import_ray()
    connect(ray, address, cpus)
    remote = ray.remote(run_on_node)
    try:
        pending = {remote.options(**_options(g, cpus, accelerator)).remote(task(g)): g for g in groups}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            requests = pending.pop(done[0])
            try:
                yield [RunRecord.from_dict(d) for d in ray.get(done[0])], True
            except Exception as exc:  # the task's process died, its node was lost, or it raised
                reason = f"the Ray task running this group died: {type(exc).__name__}: {str(exc)[:800]}"
                yield _ended(requests, "crashed", reason), False
    finally:
        ray.shutdown()
