"""The ``execution`` facts of a run record, declared: every key, its type, and which stage writes
it. Six stages write them (the worker's engine setup and implementation, the measurement, the
schedule, the plan, the A/B gate), so the one list of what may be there is here; a test runs real
runs and checks their records against it, and another that ``results/README.md`` documents every
key. :func:`problems` names what a record has that is not declared, or not of its type.

An engine or implementation of a plug-in that reads back another fact declares it here too (a key
of a plug-in outside this project: ``plugin_`` prefixed keys are accepted untyped).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NUMBER = (int, float)
OPTIONAL_INT = (int, type(None))


@dataclass(frozen=True)
class Fact:
    types: tuple[type, ...]
    by: str  # the stage that writes it


def _facts(by: str, **types: type | tuple[type, ...]) -> dict[str, Fact]:
    return {k: Fact(t if isinstance(t, tuple) else (t,), by) for k, t in types.items()}


FACTS: dict[str, Fact] = {
    # the worker, once per process: the engine's setup, read back from the framework
    **_facts(
        "worker (Engine.setup)",
        engine=str,
        intra_op_threads=OPTIONAL_INT,
        inter_op_threads=OPTIONAL_INT,
        threads_set_by=str,
        matmul_precision=str,
        tf32=bool,
        blas=str,
        import_s=NUMBER,
        worker_start_s=NUMBER,
        requested_threads=int,
        code_lines=int,
    ),
    # the implementation (Trainer.execution)
    **_facts(
        "implementation (Trainer.execution)",
        mode=str,
        data_path=str,
        batches=str,
        sync_method=str,
        compile=str,
        optimizer_kernel=str,
        keras_backend=str,
        jit_compile=bool,
        steps_per_execution=int,
        trainer=dict,
        loop=str,
    ),
    # the measurement, in the worker
    **_facts(
        "measure",
        loadavg_1m_before=NUMBER,
        loadavg_1m_after=NUMBER,
        process_threads=int,
        warm_up=str,
        quiet_wait_s=NUMBER,
        epochs_not_quiet=int,
    ),
    # the schedule and the plan, in the parent
    **_facts(
        "schedule",
        schedule=str,
        group=str,
        group_size=int,
        epochs_per_round=int,
        twin=bool,
        twin_of=str,
        side=str,
        group_s=NUMBER,
    ),
    **_facts("plan", plan_id=str, shard=str, order_seed=int, budget_s=NUMBER, left_out=list),
    **_facts("A/B gate", ab_pair=int, ab_source=str, ab_first_side=str),
}
PLUGIN_PREFIX = "plugin_"


def problems(execution: Mapping[str, Any]) -> list[str]:
    """What in ``execution`` is not declared in :data:`FACTS`, or not of its declared type."""
    out = []
    for key, value in execution.items():
        if key.startswith(PLUGIN_PREFIX):
            continue
        fact = FACTS.get(key)
        if fact is None:
            out.append(f"{key!r} is not a declared execution fact (harness/record/execution.py)")
        elif not isinstance(value, fact.types) or (isinstance(value, bool) and bool not in fact.types):
            # (a bool is an int to isinstance: True where a count belongs is still wrong)
            names = " or ".join(t.__name__ for t in fact.types)
            out.append(f"{key!r} is {type(value).__name__}, declared {names} (written by {fact.by})")
    return out
