"""The training spec: everything that defines one training problem, identical for every framework.

Implementations receive a :class:`TrainSpec` and must honour every field or refuse it with a
:class:`~harness.errors.SpecError` naming the field. Weights enter and leave as numpy arrays
``[W1 (in, out), b1, W2, b2, ...]`` and batches are index arrays into the training split, so every
implementation trains the same network on the same batches.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import FieldError, SpecError

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
        hidden = typed_value(tuple, self.hidden)
        object.__setattr__(self, "hidden", self.hidden if hidden is None else hidden)
        self.validate()

    def validate(self) -> None:
        """Raise :class:`SpecError` for any value no implementation could honour: a field of the
        wrong type or out of its range (:class:`FieldError`, from :data:`FIELDS`), or two fields
        that contradict each other."""
        for name, rule in FIELDS.items():
            value = getattr(self, name)
            if typed_value(rule.kind, value) is None or not rule.accepts(value):
                raise FieldError(name, value, rule.valid)
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

    def steps_per_epoch(self, n_train: int) -> int:
        """Optimizer steps in one epoch of ``n_train`` samples (the short last batch counts)."""
        return batches_of(n_train, self.batch_size)

    def replace(self, **changes: Any) -> TrainSpec:
        """A copy with ``changes`` applied; unknown fields raise :class:`SpecError`."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            valid = ", ".join(f.name for f in dataclasses.fields(self))
            raise SpecError(f"unknown spec field(s) {sorted(unknown)}; valid: {valid}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``hidden`` as a list). Every field is a scalar or ``hidden``'s tuple of
        ints, so a shallow copy is the whole of it (``dataclasses.asdict`` recurses: planning the
        default bench called this 4,800 times, 0.6 s)."""
        out = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        out["hidden"] = list(self.hidden)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**data, "hidden": tuple(data.get("hidden", ()))})


@dataclass(frozen=True)
class FieldRule:
    """What one spec field takes: its type (``int``, ``float``, ``str``, or ``tuple`` of ints),
    its valid values in words (``valid``, as an error message says them) and as a test."""

    kind: type
    valid: str
    accepts: Callable[[Any], bool] = lambda value: True


def batches_of(n: int, batch_size: int) -> int:
    """How many batches of ``batch_size`` cover ``n`` samples, the last one short: the one count of
    steps per epoch (the plug-in contract, the cost model and the fit loops' adapters all use it)."""
    return -(-n // batch_size)


def _whole(low: int) -> FieldRule:
    return FieldRule(
        int, "a positive integer" if low == 1 else f"a whole number >= {low}", lambda v: v >= low
    )


def _number(bounds: str, test: Callable[[float], bool]) -> FieldRule:
    return FieldRule(float, f"a number {bounds}", test)


def _one_of(values: tuple[str, ...]) -> FieldRule:
    return FieldRule(str, f"one of {', '.join(values)}", lambda v: v in values)


MAX_SEED = 2**32 - 1  # numpy's global seed (Keras' set_random_seed, MNIST-1D) takes no more
SEED_RULE = FieldRule(int, f"a whole number from 0 to {MAX_SEED}", lambda v: 0 <= v <= MAX_SEED)
HIDDEN_FORMS = "[64, 32] (two layers), [] (none: softmax regression); 64 alone is [64]"

# Every field of TrainSpec, checked by TrainSpec.validate and by whatever reads a spec value from a
# person (``--set``, a suite's ``spec`` table) through :func:`field_value`.
FIELDS: dict[str, FieldRule] = {
    "task": FieldRule(str, "a task name"),
    "n_features": _whole(1),
    "n_classes": _whole(1),
    "hidden": FieldRule(
        tuple,
        f"a list of positive integers, one width per hidden layer: {HIDDEN_FORMS}",
        lambda v: min(v, default=1) >= 1,
    ),
    "activation": _one_of(ACTIVATIONS),
    "init": _one_of(INITS),
    "loss": _one_of(("cross_entropy",)),
    "optimizer": _one_of(OPTIMIZERS),
    "learning_rate": _number("> 0", lambda v: v > 0),
    "momentum": _number("in [0, 1)", lambda v: 0 <= v < 1),
    "batch_size": _whole(1),
    "epochs": _whole(1),
    "weight_decay": _number(">= 0", lambda v: v >= 0),
    "dropout": _number("in [0, 1)", lambda v: 0 <= v < 1),
    "seed": SEED_RULE,
    "split_seed": SEED_RULE,
    "train_fraction": _number("in (0, 1]", lambda v: 0 < v <= 1),
    "label_noise": _number("in [0, 1)", lambda v: 0 <= v < 1),
    "dtype": _one_of(("float32",)),
    "target_val_accuracy": _number("in [0, 1]", lambda v: 0 <= v <= 1),
}


def finite(value: numbers.Real) -> bool:
    """Whether ``value`` is a finite float, or an int that converts to one (not 10**400)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def typed_value(kind: type, value: Any) -> Any:
    """``value`` as a field of ``kind`` holds it, or ``None`` when it is of another type: a whole
    number for an int, a finite number for a float (never a bool), a tuple of ints for ``hidden``
    from a list or tuple of them (one int: one layer)."""
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if kind is int:
        return int(value) if whole else None
    if kind is float:
        number = whole or isinstance(value, numbers.Real) and not isinstance(value, bool)
        return float(value) if number and finite(value) else None
    if kind is tuple:
        items = [value] if whole else value if isinstance(value, list | tuple) else None
        if items is None or any(typed_value(int, h) is None for h in items):
            return None
        return tuple(int(h) for h in items)
    return value if isinstance(value, kind) else None


def field_value(name: str, value: Any) -> Any:
    """``value`` checked for field ``name`` and given its type (``1`` for a float field is
    ``1.0``; ``64`` for ``hidden`` is ``(64,)``); :class:`FieldError` says what is valid."""
    rule = FIELDS.get(name)
    if rule is None:
        raise SpecError(f"unknown spec field {name!r}; valid: {', '.join(FIELDS)}")
    typed = typed_value(rule.kind, value)
    if typed is None or not rule.accepts(typed):
        raise FieldError(name, value, rule.valid)
    return typed
