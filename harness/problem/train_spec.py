"""The training spec: everything that defines one training problem, identical for every framework.

Implementations receive a :class:`TrainSpec` and must honour every field or refuse it with a
:class:`~harness.errors.SpecError` naming the field. Weights enter and leave as numpy arrays
``[W1 (in, out), b1, W2, b2, ...]`` and batches are index arrays into the training split, so every
implementation trains the same network on the same batches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import SpecError

ACTIVATIONS = ("relu", "tanh")
OPTIMIZERS = ("sgd", "adam")
INITS = ("glorot_uniform", "he_uniform")
DEVICES = ("cpu", "gpu")
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-7  # Keras' default; torch and optax are given the same value


@dataclass(frozen=True)
class TrainSpec:
    """Everything that defines one training problem, identical for every framework.

    ``hidden=()`` is single-layer softmax regression. ``weight_decay`` is decoupled
    (``w <- w - lr * weight_decay * w`` before each update, AdamW-style) on every parameter.
    ``train_fraction`` and ``label_noise`` shrink or corrupt the training split (seeded), for
    the overfitting studies.
    """

    task: str
    n_features: int
    n_classes: int
    hidden: tuple[int, ...] = (128, 128)
    activation: str = "relu"
    init: str = "glorot_uniform"
    loss: str = "cross_entropy"
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0
    batch_size: int = 64
    epochs: int = 10
    weight_decay: float = 0.0
    dropout: float = 0.0
    seed: int = 0
    split_seed: int = 0
    train_fraction: float = 1.0
    label_noise: float = 0.0
    dtype: str = "float32"
    target_val_accuracy: float = 0.9

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`SpecError` for any value no implementation could honour."""
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("init", self.init, INITS)
        _choice("loss", self.loss, ("cross_entropy",))
        _choice("dtype", self.dtype, ("float32",))
        for name in ("epochs", "batch_size", "n_features", "n_classes"):
            if int(getattr(self, name)) < 1:
                raise SpecError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if any(h < 1 for h in self.hidden):
            raise SpecError(f"hidden layer sizes must be positive, got {list(self.hidden)}")
        if not self.learning_rate > 0:
            raise SpecError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        for name in ("dropout", "label_noise", "momentum"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise SpecError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        if not 0.0 < self.train_fraction <= 1.0:
            raise SpecError(f"train_fraction must be in (0, 1], got {self.train_fraction!r}")
        if self.weight_decay < 0:
            raise SpecError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.seed < 0 or self.split_seed < 0:
            raise SpecError(f"seeds must be >= 0, got seed={self.seed}, split_seed={self.split_seed}")
        if self.momentum and self.optimizer != "sgd":
            raise SpecError("momentum applies to optimizer='sgd' only (adam has its own betas)")
        if self.weight_decay and self.momentum:
            raise SpecError(
                "weight_decay with SGD momentum means different things in torch/optax (coupled) "
                "and Keras (decoupled); use momentum=0 or optimizer='adam'"
            )

    def layer_sizes(self) -> list[int]:
        """Widths from input to output, e.g. ``[784, 512, 256, 10]``."""
        return [self.n_features, *self.hidden, self.n_classes]

    def replace(self, **changes: Any) -> TrainSpec:
        """A copy with ``changes`` applied; unknown fields raise :class:`SpecError`."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            valid = ", ".join(f.name for f in dataclasses.fields(self))
            raise SpecError(f"unknown spec field(s) {sorted(unknown)}; valid: {valid}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``hidden`` as a list)."""
        out = dataclasses.asdict(self)
        out["hidden"] = list(self.hidden)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**data, "hidden": tuple(data.get("hidden", ()))})


def _choice(name: str, value: object, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise SpecError(f"{name}={value!r} is not supported; valid: {', '.join(valid)}")
