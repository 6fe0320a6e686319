"""The calibration's timing inside a worker: an engine's :class:`~harness.plugins.contract.Probe`
timed in rounds of matmuls and of empty dispatches (the worker answers ``calibrate`` with it)."""

from __future__ import annotations

import os
from typing import Any

from harness.plugins.contract import Probe
from harness.run.timing import timed

MATMUL_ROUNDS = 7
DISPATCH_ROUNDS = 7
DISPATCHES_PER_ROUND = 200


def measure(probe: Probe, n: int) -> dict[str, Any]:
    """Time ``probe`` (in the worker): warm up, then rounds of matmuls and of dispatches.

    A matmul round runs enough products for ~0.2 s and one sync; a dispatch round enqueues
    :data:`DISPATCHES_PER_ROUND` dispatches and one sync, so the sync's own latency is spread
    over many launches, as it is over a training epoch's steps.
    """
    for _ in range(2):
        probe.matmul()
        probe.dispatch()
    probe.sync()
    _, one_s = timed(probe.matmul, probe.sync)
    per_round = max(1, min(50, int(0.2 / max(one_s, 1e-6))))
    matmul_s = [
        timed(lambda: [probe.matmul() for _ in range(per_round)], probe.sync)[1] / per_round
        for _ in range(MATMUL_ROUNDS)
    ]
    for _ in range(20):
        probe.dispatch()
    probe.sync()
    dispatch_s = [
        timed(lambda: [probe.dispatch() for _ in range(DISPATCHES_PER_ROUND)], probe.sync)[1]
        / DISPATCHES_PER_ROUND
        for _ in range(DISPATCH_ROUNDS)
    ]
    return {
        "n": n,
        "matmul_s": matmul_s,
        "dispatch_s": dispatch_s,
        "dispatch_kind": probe.dispatch_kind,
        "loadavg_1m": os.getloadavg()[0],
    }
