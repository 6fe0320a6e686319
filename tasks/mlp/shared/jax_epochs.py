"""What every JAX implementation (low-level ``jax`` and Flax NNX) does the same way, written once:
an epoch as a step per batch or one compiled ``lax.scan`` over its full batches, the contract's
single step, and the warm-up before an epoch that follows other processes' epochs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from tasks.mlp.common import batch_slices, full_batches
from tasks.mlp.engines.jax_engine import jax

WARM_UP_STEPS = 3


def train_epoch(
    order: np.ndarray,
    batch_size: int,
    dev: Any,
    step: Callable[[Any], Any],
    scan: Callable[[Any], None] | None = None,
) -> None:
    """Train on the batches of ``order`` (one epoch's permutation of the training indices).

    Without ``scan``: ``order`` goes to the device once and ``step(index)`` runs on each batch
    sliced there. With ``scan``: ``scan(batches)`` gets every full batch as one ``(n, batch_size)``
    array and the short rest, if any, is one ``step``. The full batches are cut in numpy and sent in
    one transfer: eager slicing of a device array costs 35-150 us per slice on CPU, more than a
    whole iris step inside the scan."""
    order = order.astype(np.int32)
    if scan is None:
        order_dev = jax.device_put(order, dev)
        for index in batch_slices(order_dev, batch_size):
            step(index)
        return
    batches, rest = full_batches(order, batch_size)
    if len(batches):
        scan(jax.device_put(batches, dev))
    if len(rest):  # shorter than a batch: one step, no slicing
        step(jax.device_put(rest, dev))


def warm_up(step: Callable[[], Any]) -> None:
    """``step`` (a jitted train step on one batch) run :data:`WARM_UP_STEPS` times, then waited for,
    untimed, before an epoch that follows other processes' epochs: the epoch finds the step's code,
    buffers and optimizer state warm again. The caller leaves the model as it was. The default
    forward pass alone left the epoch after a pause 1.2-1.35x slower than the next
    (benchmarks/schedule_sensitivity.py)."""
    for _ in range(WARM_UP_STEPS):
        out = step()
    jax.block_until_ready(out)


class JaxSteps:
    """A mixin for a :class:`~harness.plugins.contract.Trainer` whose ``build`` sets ``dev`` and
    which defines ``_step(index)`` (one jitted step on a device batch of indices, returning its loss)
    and, for :attr:`SCAN_MODE`, ``_scan_batches(batches)`` (one ``lax.scan`` over full batches)."""

    SCAN_MODE: ClassVar[str]  # the mode whose epochs run as one lax.scan
    dev: Any
    mode: str
    spec: Any
    _step: Callable[[Any], Any]
    _scan_batches: Callable[[Any], None]

    def train_epoch(self, order: np.ndarray) -> None:
        scan = self._scan_batches if self.mode == self.SCAN_MODE else None
        train_epoch(order, self.spec.batch_size, self.dev, self._step, scan)

    def train_step(self, index: np.ndarray) -> float:
        return float(self._step(jax.device_put(index.astype(np.int32), self.dev)))
