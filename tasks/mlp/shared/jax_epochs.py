"""One training epoch on JAX, shared by the JAX implementations (low-level ``jax`` and Flax NNX):
a step per batch, or one compiled ``lax.scan`` over the epoch's full batches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tasks.mlp.common import batch_slices
from tasks.mlp.engines.jax_engine import jax


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
    n_full = len(order) // batch_size
    if n_full:
        scan(jax.device_put(order[: n_full * batch_size].reshape(n_full, batch_size), dev))
    rest = order[n_full * batch_size :]
    if len(rest):  # shorter than a batch: one step, no slicing
        step(jax.device_put(rest, dev))
