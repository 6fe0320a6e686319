"""Test-only fault injection: ``$MLPBENCH_FAULT`` makes a run crash, hang, raise or run slower, so
the tests and the gate's validation prove that the real machinery catches each (a crash or a hang
costs one run; a slower candidate fails the regression check and the A/B gate).

Kinds: ``crash`` (the worker process dies as the run starts; ``crash:N`` at the end of epoch
``N`` instead), ``hang``, ``raise`` (an exception in the run), ``delay:SECONDS`` (busy time inside
every training step's timed region) and ``slow:FRACTION`` (a proportional slowdown: every timed
epoch and single step busy-waits ``FRACTION`` of its own duration before its timer stops, e.g.
``slow:0.10`` is 10% slower, whatever the loop style) and ``paused:FRACTION`` (the same, only for
the epochs that begin a round of the schedule: in an interleaved block, the one after the pause;
what the schedule-sensitivity check must catch) and ``stall:SECONDS`` (every third epoch's own
setup, before its first step, lasts that much longer: what the stall check must catch).
``$MLPBENCH_FAULT_ONLY=IMPL`` limits the
fault to the runs of one implementation (``IMPL#twin``: to its A/A twins only). An unknown kind is
an error, not silently no fault.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from harness.errors import UsageError
from harness.plugins.contract import Trainer
from harness.run.timing import busy_wait, clock

FAULT_ENV = "MLPBENCH_FAULT"
ONLY_ENV = "MLPBENCH_FAULT_ONLY"
RAY_KILL_ENV = "MLPBENCH_RAY_KILL"  # a task name: the Ray task running that task's group dies
TWIN_MARK = "#twin"  # how a fault names an implementation's A/A twin
KINDS = ("crash", "hang", "raise", "delay", "slow", "paused", "stall")


@dataclass(frozen=True)
class Fault:
    """The fault this process injects: its kind and numeric argument (``""``: none; ``arg`` is
    ``None`` where the kind was given without one)."""

    kind: str = ""
    arg: float | None = None

    def at_epoch_end(self, epoch: int) -> None:
        """``crash:N``: the process dies at the end of epoch ``N``."""
        if self.kind == "crash" and self.arg is not None and epoch == int(self.arg):
            os._exit(3)

    def setup_stall_s(self, epoch: int) -> float:
        """``stall:SECONDS``: how much longer epoch ``epoch``'s setup must last (every third epoch)."""
        return (self.arg or 0.0) if self.kind == "stall" and epoch % 3 == 2 else 0.0

    def extra_s(self, elapsed_s: float, steps: int, begins_round: bool = True) -> float:
        """How much longer a timed region of ``elapsed_s`` over ``steps`` steps must last;
        ``begins_round``: the region is an epoch that begins a round of the schedule."""
        if self.kind == "delay":
            return (self.arg or 0.0) * steps
        if self.kind == "slow" or (self.kind == "paused" and begins_round):
            return (self.arg or 0.0) * elapsed_s
        return 0.0


def current(impl: str = "") -> Fault:
    """The fault named by ``$MLPBENCH_FAULT`` for a run of ``impl`` (none when unset, or when
    ``$MLPBENCH_FAULT_ONLY`` names another implementation)."""
    text = os.environ.get(FAULT_ENV, "")
    only = os.environ.get(ONLY_ENV, "")
    if not text or (only and impl and only != impl):
        return Fault()
    kind, sep, arg = text.partition(":")
    if kind not in KINDS:
        raise UsageError(f"{FAULT_ENV}={text!r}: unknown kind {kind!r}; valid: {', '.join(KINDS)}")
    if kind in ("delay", "slow", "paused", "stall") and not sep:
        raise UsageError(f"{FAULT_ENV}={text!r}: {kind} needs a number, e.g. {kind}:0.1")
    try:
        return Fault(kind, float(arg) if sep else None)
    except ValueError as exc:
        raise UsageError(f"{FAULT_ENV}={text!r}: {arg!r} is not a number") from exc


def inject_fault(trainer: Trainer, impl: str = "") -> Fault:
    """Apply the process's fault to a run of ``impl`` about to start: ``crash``, ``hang`` and
    ``raise`` act now (``crash:N`` later, at the end of epoch ``N``); ``delay`` and ``slow`` are
    returned for the epoch timer, and wrap the single training step."""
    fault = current(impl)
    if fault.kind == "crash" and fault.arg is None:
        os._exit(3)
    if fault.kind == "hang":
        time.sleep(3600)
    if fault.kind == "raise":
        raise RuntimeError("injected failure")
    if fault.kind in ("delay", "slow"):
        train_step = trainer.train_step

        def slow_step(index: Any) -> float:
            start = clock()
            loss = train_step(index)
            busy_wait(fault.extra_s(clock() - start, 1))
            return loss

        trainer.train_step = slow_step  # type: ignore[method-assign]
    return fault


def ray_task_fault(task: str) -> None:
    """Test-only: the Ray task process running a group of ``task`` dies at once when
    ``$MLPBENCH_RAY_KILL`` names it, as a node or worker lost mid-benchmark would."""
    if os.environ.get(RAY_KILL_ENV) == task:
        os._exit(1)
