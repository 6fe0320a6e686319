"""The whole plug-in contract: the training spec every implementation honours and the
:class:`Trainer` base class each ``tasks/mlp/impl_*.py`` file subclasses.

The harness only ever talks to a framework through a ``Trainer``. Weights enter and leave as
numpy arrays ``[W1 (in, out), b1, W2, b2, ...]`` and batches are given as index arrays into the
training split, so every implementation trains the same network on the same batches.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from tasks.datasets import Splits

ACTIVATIONS = ("relu", "tanh")
OPTIMIZERS = ("sgd", "adam")
INITS = ("glorot_uniform", "he_uniform")
DEVICES = ("cpu", "gpu")
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-7  # Keras' default; torch and optax are given the same value


class SpecError(ValueError):
    """A spec value is invalid; the message names the field, the value and what is valid."""


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


@dataclass(frozen=True)
class Probe:
    """What the machine calibration (:mod:`harness.calibration`) times in one framework.

    ``matmul`` enqueues one ``n x n`` float32 matrix product on the device, ``dispatch`` the
    smallest unit of work the framework launches as its users drive it (an eager op, or a call
    of a compiled function), and ``sync`` waits until everything enqueued has finished.
    """

    matmul: Callable[[], Any]
    dispatch: Callable[[], Any]
    sync: Callable[[], Any]
    dispatch_kind: str


class Unavailable(RuntimeError):
    """This implementation cannot run here (device, mode or backend missing); says why."""


class Trainer(ABC):
    """One framework's implementation of the MLP task, in one API style.

    Subclasses set the class constants; the harness reads them instead of testing names.
    A ``Trainer`` is built once per run, in the worker process of its framework and device.
    """

    FRAMEWORK: ClassVar[str]  # torch | tensorflow | jax | keras
    API: ClassVar[str]  # "low-level" (tensors + autodiff) or "high-level" (layers + fit)
    BACKENDS: ClassVar[tuple[str, ...]] = ("",)  # Keras: the backends it can run on
    MODES: ClassVar[Mapping[str, str]] = {"default": "idiomatic code"}
    SUPPORTS_GPU: ClassVar[bool] = True
    SYNC_METHOD: ClassVar[str]  # how the timer waits for the device, recorded per run
    DATA_PATH: ClassVar[str]  # how batches reach the model, recorded per run

    def __init__(self, spec: TrainSpec, device: str, mode: str = "default", backend: str = "") -> None:
        reason = self.mode_reason(mode, backend)
        if reason:
            raise Unavailable(reason)
        self.spec = spec
        self.device = device
        self.mode = mode
        self.backend = backend

    @classmethod
    def mode_reason(cls, mode: str, backend: str = "") -> str | None:
        """``None`` when ``mode`` can run on ``backend``, else why not."""
        if mode not in cls.MODES:
            return f"{cls.FRAMEWORK} has no mode {mode!r}; its modes: {', '.join(cls.MODES)}"
        return None

    @classmethod
    @abstractmethod
    def setup_framework(cls, threads: int, backend: str = "") -> dict[str, Any]:
        """Import the framework and apply the fairness policy (``threads`` intra-op threads,
        float32 matmuls without TF32). Return what is in force, read back from the framework:
        ``versions``, ``intra_op_threads``, ``inter_op_threads``, ``matmul_precision``."""

    @classmethod
    @abstractmethod
    def device_reason(cls, device: str) -> str | None:
        """``None`` when ``device`` can be used, else why not (after :meth:`setup_framework`)."""

    @classmethod
    def probe(cls, device: str, n: int) -> Probe:
        """The calibration's callables on ``device`` (after :meth:`setup_framework`).

        Only the low-level implementation of each framework defines it; an implementation on
        another framework's engine (Keras) is calibrated through that engine's."""
        raise NotImplementedError(f"{cls.__name__} has no calibration probe; its engine's is used")

    @abstractmethod
    def build(self, params: list[np.ndarray], data: Splits) -> None:
        """Create the model with ``params`` as its weights and place ``data`` on the device."""

    @abstractmethod
    def train_epoch(self, order: np.ndarray) -> None:
        """Train one epoch, batches of ``spec.batch_size`` taken in ``order`` (the last may be
        short). May return before the device is done: the timer calls :meth:`sync`."""

    @abstractmethod
    def train_step(self, index: np.ndarray) -> float:
        """Train on the one batch ``x_train[index]`` and return its loss (a host float)."""

    @abstractmethod
    def evaluate(self, split: str) -> tuple[float, float]:
        """Mean cross-entropy loss and accuracy on ``train``, ``val`` or ``test``, dropout off."""

    @abstractmethod
    def get_params(self) -> list[np.ndarray]:
        """Current weights as numpy arrays in the ``[W1, b1, ...]`` layout."""

    @abstractmethod
    def sync(self) -> None:
        """Block until every queued computation on the device has finished."""

    def predict_batch(self, x: np.ndarray) -> None:
        """Forward pass on host array ``x`` (inference timing); waits for the result."""
        raise NotImplementedError

    def execution(self) -> dict[str, Any]:
        """Facts about how this run executes (compile mode, XLA, data path...), for the record."""
        return {"mode": self.mode, "data_path": self.DATA_PATH, "sync_method": self.SYNC_METHOD}

    def device_memory_peak_bytes(self) -> int | None:
        """Peak device memory since build, where the framework exposes it; ``None`` on CPU."""
        return None
