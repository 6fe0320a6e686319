"""The optax optimizers, shared by the JAX implementations (low-level ``jax`` and Flax NNX)."""

from __future__ import annotations

from typing import Any

from harness.plugins.contract import LazyModule
from harness.problem.train_spec import ADAM_BETAS, ADAM_EPSILON, TrainSpec

optax: Any = LazyModule("optax")


def make_optimizer(spec: TrainSpec) -> Any:
    """``optax.adamw`` (decoupled decay, eps outside the sqrt as torch); SGD with added decay."""
    if spec.optimizer == "adam":
        b1, b2 = ADAM_BETAS
        return optax.adamw(spec.learning_rate, b1, b2, ADAM_EPSILON, weight_decay=spec.weight_decay)
    chain = [optax.sgd(spec.learning_rate, momentum=spec.momentum or None)]
    if spec.weight_decay:
        chain.insert(0, optax.add_decayed_weights(spec.weight_decay))
    return optax.chain(*chain)
