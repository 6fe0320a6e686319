"""The fairness policy: what every run is held to unless its suite says otherwise, and the check
that finds the records that ran under something else.

The policy is applied by the runner (the same thread count in every worker's environment) and by
each engine's ``setup`` (threads set through the framework, TF32 off, the
highest float32 matmul precision); each record's ``execution`` block says what was read back, so
this check trusts the record, not the intention.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from harness.record.keys import machine_id, record_name
from harness.record.schema import RunRecord

POLICY = (
    (
        "Threads",
        "every framework gets the same thread count (the plan's --threads, default: every core), set "
        "through the framework's own API (JAX, which has none: the process's CPU affinity) and read "
        "back into the record; a run with no count set or read back is flagged. Every core leaves no "
        "headroom, on purpose: the harness's own processes are idle while an epoch is timed (the "
        "parent and the other workers wait on their pipes, and each interleaved epoch starts only "
        "once other processes leave the CPU, at most 0.5 s after its turn), so what competes is "
        "the machine's other work, and each record measures it (CPU used by other processes during "
        "every timed epoch); a run beside other work is marked, not headlined",
    ),
    (
        "Precision",
        "float32 parameters and data; TF32 off in torch, TensorFlow and JAX; float32 matmuls at full "
        "precision (torch 'highest', JAX default_matmul_precision 'highest')",
    ),
    (
        "Data",
        "the whole dataset is placed on the device before timing and batches are gathered there; the "
        "exception is Keras fit, whose own data adapter feeds the batches, because that is the API "
        "under test. Lightning gets the same index batches through its batch sampler, not a "
        "DataLoader over a TensorDataset, which collates each batch sample by sample (measured 1.2x "
        "the step time on mnist1d: benchmarks/bare_loop.py --interleaved)",
    ),
    (
        "Metrics",
        "Keras compiles its accuracy metric into every training step (metrics=['accuracy'], as its "
        "users write it: the step time includes it); the other loops compute none per step. Every "
        "implementation is evaluated the same way after each epoch, outside the timers",
    ),
    (
        "Timing",
        "every timed region ends with the framework's device sync; the first epoch (tracing, "
        "compilation) is its own phase and never part of the steady-state numbers",
    ),
    (
        "Modes",
        "'default' is the code a framework's users write; other modes are its fast paths, each "
        "named on the page; every mode trains the same model on the same batches",
    ),
)
FULL_PRECISION = {"highest", "float32", "fp32", "ieee"}


def deviations(record: RunRecord, policy_threads: int | None) -> list[str]:
    """How ``record`` departs from the policy, in words; empty when it does not.

    ``policy_threads`` is the thread count the comparison holds everyone to (the commonest
    requested count among the records shown together); ``None`` skips that check.
    """
    execution, out = record.execution or {}, []
    requested = execution.get("requested_threads")
    if policy_threads is not None and requested is not None and requested != policy_threads:
        out.append(f"ran with {requested} threads, the others with {policy_threads}")
    read_back = execution.get("intra_op_threads")
    if requested is not None and read_back is None:
        out.append(f"no thread count set or read back ({requested} requested)")
    elif read_back is not None and requested is not None and read_back != requested:
        out.append(f"intra-op threads read back {read_back}, {requested} requested")
    if execution.get("tf32"):
        out.append("TF32 was on")
    precision = execution.get("matmul_precision")
    if precision is not None and str(precision).lower() not in FULL_PRECISION:
        out.append(f"matmul precision {precision!r}, not full float32")
    dtype = (record.config or {}).get("dtype", "float32")
    if dtype != "float32":
        out.append(f"dtype {dtype}")
    return out


def policy_threads(records: Sequence[RunRecord]) -> dict[str, int]:
    """Per machine, the commonest requested thread count: the one the comparison holds to."""
    counts: dict[str, Counter] = {}
    for record in records:
        requested = (record.execution or {}).get("requested_threads")
        if requested is not None:
            counts.setdefault(machine_id(record), Counter())[requested] += 1
    return {machine: counter.most_common(1)[0][0] for machine, counter in counts.items()}


def flagged(records: Sequence[RunRecord]) -> list[dict[str, Any]]:
    """One row per ok record that departs from the policy: who, where, and how."""
    threads = policy_threads(records)
    rows = []
    for record in records:
        if record.status != "ok":
            continue
        found = deviations(record, threads.get(machine_id(record)))
        if found:
            rows.append(
                {
                    "machine_id": machine_id(record),
                    "run": record_name(record),
                    "deviations": "; ".join(found),
                }
            )
    return rows
