"""The Keras optimizers, shared by the Keras implementation and TensorFlow's low-level loop (TF 2
code applies its gradients with ``tf.keras.optimizers``, which is this same Keras 3)."""

from __future__ import annotations

from typing import Any

from harness.plugins.contract import LazyModule
from harness.problem.train_spec import ADAM_BETAS, ADAM_EPSILON, TrainSpec

keras: Any = LazyModule("keras")  # imported after the worker fixed KERAS_BACKEND


def make_optimizer(spec: TrainSpec) -> Any:
    """Keras ``Adam``/``SGD``; their ``weight_decay`` is decoupled, as the spec defines it."""
    decay = spec.weight_decay or None
    if spec.optimizer == "adam":
        b1, b2 = ADAM_BETAS
        return keras.optimizers.Adam(
            spec.learning_rate, beta_1=b1, beta_2=b2, epsilon=ADAM_EPSILON, weight_decay=decay
        )
    return keras.optimizers.SGD(spec.learning_rate, momentum=spec.momentum, weight_decay=decay)
