"""Test-only fault injection: ``$MLPBENCH_FAULT`` makes a run crash, hang, raise or run slower, so
the tests prove that the real machinery catches each (a crash or a hang costs one run; a slower
candidate fails the regression check)."""

from __future__ import annotations

import os
import time
from typing import Any

from harness.spec.contract import Trainer

FAULT_ENV = "MLPBENCH_FAULT"


def inject_fault(trainer: Trainer) -> None:
    """Test-only: ``$MLPBENCH_FAULT`` makes this run ``crash`` (the process dies), ``hang``, raise
    (``raise``), or add ``delay:SECONDS`` inside every training step's timed region. Lets the
    tests prove that crashes, timeouts and slow-downs are caught by the real machinery."""
    fault = os.environ.get(FAULT_ENV, "")
    if not fault:
        return
    kind, _, arg = fault.partition(":")
    if kind == "crash":
        os._exit(3)
    if kind == "hang":
        time.sleep(3600)
    if kind == "raise":
        raise RuntimeError("injected failure")
    if kind == "delay":
        delay_s = float(arg)
        train_epoch, train_step = trainer.train_epoch, trainer.train_step
        per_epoch = trainer.spec.batch_size

        def slow_epoch(order: Any) -> None:
            train_epoch(order)
            time.sleep(delay_s * -(-len(order) // per_epoch))

        def slow_step(index: Any) -> float:
            time.sleep(delay_s)
            return train_step(index)

        trainer.train_epoch, trainer.train_step = slow_epoch, slow_step  # type: ignore[method-assign]
