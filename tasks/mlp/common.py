"""What every MLP implementation shares, framework-neutral: an epoch's order cut into batches, and
loss and accuracy from host logits. The task itself (its specs, data, initial weights, batch order
and FLOP count) is :class:`tasks.mlp.task.MlpTasks`."""

from __future__ import annotations

import numpy as np


def batch_slices(order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """``order`` cut into consecutive batches; the last one may be shorter."""
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def full_batches(order: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """``order``'s full batches as one ``(n, batch_size)`` array, and the short rest (maybe empty):
    what a loop compiled over the epoch (``lax.scan``, a ``tf.function``) takes in one call."""
    n_full = len(order) // batch_size
    return order[: n_full * batch_size].reshape(n_full, batch_size), order[n_full * batch_size :]


def metrics_from_logits(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Mean softmax cross-entropy and accuracy of host ``logits``, computed in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(len(labels)), labels].mean()
    return float(loss), float((z.argmax(axis=1) == labels).mean())
