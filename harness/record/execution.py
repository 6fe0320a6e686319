"""What a run record says of how a run ran (``execution``) and where it came from
(``provenance``), declared: every key, its type, and which stage writes it. Several stages write
``execution`` (the worker's engine setup, the measurement, the schedule, the implementation through
the contract), one stamp writes ``provenance`` (:mod:`harness.run.stamp`), so the one list of what
may be there is here; a test runs real runs and checks their records against it, and another that
``results/README.md`` documents every key. :func:`problems` names what a block has that is not
declared, or not of its type.

An implementation's own facts (Keras' backend, Lightning's trainer settings, torch's optimizer
kernel) are not declared here: they are ``execution["plugin"]``, declared by the plug-in itself
(``Trainer.FACTS``) and checked against that declaration where the plug-in is loaded, so adding a
framework touches only ``tasks/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NUMBER = (int, float)
OPTIONAL_INT = (int, type(None))
PLUGIN = "plugin"  # execution[PLUGIN]: the implementation's own facts, declared by its Trainer
PLUGIN_PREFIX = "plugin_"  # version 2: a plug-in's undeclared fact, kept untyped


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
    # what the contract has every implementation say (Trainer.execution)
    **_facts(
        "implementation (Trainer.execution)",
        mode=str,
        data_path=str,
        batches=str,
        sync_method=str,
        compile=str,
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
    # the schedule, in the parent
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
    **_facts("implementation (Trainer.FACTS)", plugin=dict),
}

PROVENANCE: dict[str, Fact] = {
    **_facts("plan", plan_id=str, shard=str, order_seed=int, budget_s=NUMBER, left_out=list),
    **_facts("A/B gate", ab_pair=int, ab_source=str, ab_first_side=str),
}

# Version 2 kept these implementations' own facts among the harness's (read into execution[PLUGIN]).
V2_PLUGIN_FACTS = (
    "optimizer_kernel",
    "keras_backend",
    "jit_compile",
    "steps_per_execution",
    "trainer",
    "loop",
)


def problems(
    block: Mapping[str, Any], declared: Mapping[str, Fact] = FACTS, where: str = "harness/record/execution.py"
) -> list[str]:
    """What in ``block`` (a record's ``execution``, or with ``declared=PROVENANCE`` its
    ``provenance``) is not declared (in ``where``), or not of its declared type."""
    out = []
    for key, value in block.items():
        fact = declared.get(key)
        if fact is None:
            out.append(f"{key!r} is not a declared fact ({where})")
        elif not isinstance(value, fact.types) or (isinstance(value, bool) and bool not in fact.types):
            # (a bool is an int to isinstance: True where a count belongs is still wrong)
            names = " or ".join(t.__name__ for t in fact.types)
            out.append(f"{key!r} is {type(value).__name__}, declared {names} (written by {fact.by})")
    return out


def typed(facts: Mapping[str, Any], declared: Mapping[str, type | tuple[type, ...]]) -> list[str]:
    """What in ``facts`` (an implementation's own) its plug-in did not declare, or not of its type."""
    facts_of = {k: Fact(t if isinstance(t, tuple) else (t,), "its plug-in") for k, t in declared.items()}
    return problems(facts, facts_of, where="its Trainer's FACTS")
