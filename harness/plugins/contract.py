"""The plug-in contract: an :class:`Engine` per framework and a :class:`Trainer` per framework and
API style, each defined in its own file under ``tasks/<family>/engines/`` and ``.../impls/``.

An engine is what every API style on one framework shares: importing it, the fairness policy
(threads, float32 without TF32) read back from the framework, whether a device can be used, the
calibration probe, waiting for the device, and the device's memory peak. A trainer is one way of
writing the training in that framework (an explicit loop, ``fit``...). Trainers name the engines
they run on (``ENGINES``) and never import each other; the harness finds both kinds of class by
their files (:mod:`harness.plugins.registry`) and reads their capability constants, never their names.

Importing an engine or implementation file must be cheap: the framework itself is imported by
:meth:`Engine.setup`, in the worker process. :class:`LazyModule` lets a file name the framework at
the top (``torch = LazyModule("torch")``) without importing it.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, Protocol

import numpy as np

from harness.problem.train_spec import TrainSpec

SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True)
class Splits:
    """Train/validation/test arrays of one dataset: x float32 (n, features), y int64 (n,)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_val.max(), self.y_test.max()) + 1)

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(x, y)`` of ``train``, ``val`` or ``test``."""
        if name not in SPLIT_NAMES:
            raise ValueError(f"unknown split {name!r}; valid: {', '.join(SPLIT_NAMES)}")
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")


class TaskFamily(ABC):
    """The training problems a plug-in folder offers (its ``task.py`` defines one subclass): the
    named tasks, each task's default spec, its data, the initial weights and batch order every
    implementation shares, and its FLOP count. The harness knows tasks only through this class,
    found by :mod:`harness.plugins.registry`, as it knows frameworks through :class:`Engine`.
    Stateless: classmethods."""

    TASKS: ClassVar[tuple[str, ...]]  # the task names it offers (``iris``, ``mnist`` ...)
    SUITES: ClassVar[Path | None] = None  # a folder of suite TOML files it ships, if any

    @classmethod
    @abstractmethod
    def make_spec(cls, task: str, **overrides: Any) -> TrainSpec:
        """``task``'s default spec with ``overrides`` (unknown task or field: ``SpecError``)."""

    @classmethod
    @abstractmethod
    def check_spec(cls, spec: TrainSpec) -> None:
        """Raise ``SpecError`` for a spec that cannot run (a batch larger than the training
        split), cheaply: without loading the data."""

    @classmethod
    @abstractmethod
    def load_data(cls, spec: TrainSpec) -> Splits:
        """The spec's train/validation/test splits (raises a clear error when unavailable)."""

    @classmethod
    @abstractmethod
    def init_params(cls, spec: TrainSpec) -> list[np.ndarray]:
        """The initial ``[W1, b1, ...]`` every implementation loads, from ``spec.seed``."""

    @classmethod
    @abstractmethod
    def batch_order(cls, spec: TrainSpec, epoch: int, n_train: int) -> np.ndarray:
        """The permutation of training indices of ``epoch``, the same in every implementation."""

    @classmethod
    @abstractmethod
    def train_flops_per_sample(cls, spec: TrainSpec) -> int:
        """FLOPs of training on one sample (forward and backward), for the efficiency block."""

    @classmethod
    def steps_per_epoch(cls, spec: TrainSpec, n_train: int) -> int:
        """Optimizer steps in one epoch (the short last batch counts)."""
        return spec.steps_per_epoch(n_train)

    @classmethod
    def split_sizes(cls, spec: TrainSpec) -> tuple[int, int, int] | None:
        """Samples in the training, validation and test splits, known without loading the data
        (what a plan's cost is predicted from); ``None``: not known until loaded."""
        return None

    @classmethod
    def data_ready(cls, spec: TrainSpec) -> bool:
        """Whether the spec's data is at hand already (cached), so a run needs no fetch first."""
        return True

    @classmethod
    def prepare(cls, spec: TrainSpec) -> None:
        """Have the spec's data at hand (downloaded, generated, cached) before any run needs it:
        a step of its own, before the runs start. Raises the same clear error as :meth:`load_data`."""
        cls.load_data(spec)


BATCHES_HARNESS = "the harness's per-epoch permutation (the same batches in every implementation)"
BATCHES_OWN = "the framework's own seeded shuffling (other batches than the other implementations)"

# The Trainer's optional methods: the capability constant that says a class implements one (set for
# each class from its methods, by ``Trainer.__init_subclass__``) and what needs the method.
OPTIONAL_METHODS: Mapping[str, tuple[str, str]] = {
    "predict_batch": ("SUPPORTS_PREDICT_BATCH", "the inference micro-benchmarks"),
    "get_params": ("SUPPORTS_GET_PARAMS", "the parity tests (they compare weights)"),
}


class Unavailable(RuntimeError):
    """This implementation cannot run here (device, mode or backend missing); says why."""


class LazyModule:
    """A module imported on first attribute access; each attribute is then cached on the proxy,
    so a hot loop pays a plain attribute lookup."""

    def __init__(self, name: str) -> None:
        self._name = name

    def load(self) -> ModuleType:
        """Import the module now (what :meth:`Engine.setup` calls) and return it."""
        return importlib.import_module(self._name)

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self.load(), attr)
        setattr(self, attr, value)
        return value


@dataclass(frozen=True)
class Probe:
    """What the machine calibration (:mod:`harness.run.calibration`) times in one engine.

    ``matmul`` enqueues one ``n x n`` float32 matrix product on the device, ``dispatch`` the
    smallest unit of work the framework launches as its users drive it (an eager op, or a call
    of a compiled function), and ``sync`` waits until everything enqueued has finished.
    """

    matmul: Callable[[], Any]
    dispatch: Callable[[], Any]
    sync: Callable[[], Any]
    dispatch_kind: str


class EpochHooks(Protocol):
    """What a training loop calls in every epoch (Keras and Lightning: from a ``Callback``), all
    three, in order, once per epoch.

    The harness times from :meth:`epoch_start` to :meth:`epoch_end`, evaluates inside
    :meth:`epoch_end` outside the timer, and pauses an interleaved run (other runs train their
    epoch meanwhile) inside :meth:`steps_start`, between the loop's own epoch setup and the first
    step, with the timer stopped. The pause sits there, not at the epoch's start, because what a
    framework sets up between epochs must happen as it does in a user's run: right after the last
    epoch. (Keras on TensorFlow makes each epoch's ``tf.data`` iterator at the end of the one
    before and destroys it as the next begins; destroying it after a pause on a busy CPU waited
    for its autotuning thread's next wake-up, up to the pause's own length:
    ``benchmarks/keras_pause.py``.)
    """

    def epoch_start(self, epoch: int) -> None:
        """Epoch ``epoch`` (0-based) begins now: its setup is timed from here."""

    def steps_start(self, epoch: int) -> None:
        """The loop's own setup of epoch ``epoch`` (a new data iterator, reset metrics) is done and
        its first step comes next: the timer stops, the run may pause, the timer resumes."""

    def epoch_end(self, epoch: int) -> bool:
        """Epoch ``epoch`` ended: the harness waits for the device, stops the timer, evaluates;
        ``True`` means stop training now (the loss diverged)."""
        ...


EpochOrders = Callable[[int], np.ndarray]  # epoch -> the permutation of training indices it uses


class Engine(ABC):
    """One framework's engine, shared by every API style that runs on it. Stateless: classmethods.

    Subclasses set the class constants; the harness reads them instead of testing names.
    """

    NAME: ClassVar[str]  # torch | tensorflow | jax | ...: the framework whose kernels run
    MODULES: ClassVar[tuple[str, ...]]  # top-level modules that must be importable
    VERSION_PACKAGES: ClassVar[tuple[str, ...]]  # distributions carrying its version, first found wins
    SUPPORTS_GPU: ClassVar[bool] = True
    SYNC_METHOD: ClassVar[str]  # how a timed region waits for the device, recorded per run

    @classmethod
    def worker_env(cls, device: str) -> dict[str, str]:
        """Environment variables of a worker process on ``device``: GPUs hidden from cpu workers."""
        return {"CUDA_VISIBLE_DEVICES": ""} if device == "cpu" else {}

    @classmethod
    @abstractmethod
    def setup(cls, threads: int) -> dict[str, Any]:
        """Import the framework and apply the fairness policy (``threads`` intra-op threads,
        float32 matmuls without TF32). Return what is in force, read back from the framework:
        ``versions``, ``intra_op_threads``, ``inter_op_threads``, ``matmul_precision``, ``tf32``."""

    @classmethod
    @abstractmethod
    def device_reason(cls, device: str) -> str | None:
        """``None`` when ``device`` can be used, else why not (after :meth:`setup`)."""

    @classmethod
    @abstractmethod
    def probe(cls, device: str, n: int) -> Probe:
        """The calibration's callables on ``device`` (after :meth:`setup`)."""

    @classmethod
    @abstractmethod
    def sync(cls, device: str, values: Sequence[Any]) -> None:
        """Block until the device has finished every computation queued before, ``values``
        (the arrays updated last) included."""

    @classmethod
    def to_device(cls, device: str, array: np.ndarray) -> Any:
        """``array`` placed on ``device`` as the framework's array type (after :meth:`setup`);
        the default keeps the host array (an engine that computes on the host)."""
        return array

    @classmethod
    def reset_memory_peak(cls, device: str) -> None:
        """Start a new device memory peak (where the framework can); called before a run builds."""
        return None

    @classmethod
    def memory_peak_bytes(cls, device: str) -> int | None:
        """The device memory peak since :meth:`reset_memory_peak`; ``None`` on CPU or if unknown."""
        return None


class Trainer(ABC):
    """One framework's implementation of the MLP task, in one API style, on one of its engines.

    A ``Trainer`` is built once per run, in the worker process of its engine and device. A run
    needs only the abstract methods; :data:`OPTIONAL_METHODS` (``predict_batch``, ``get_params``)
    serve the micro-benchmarks and the parity tests, which skip, with :meth:`lacks`'s reason, a
    class without them.
    """

    FRAMEWORK: ClassVar[str]  # what users install and import: torch | tensorflow | jax | keras ...
    API: ClassVar[str]  # "low-level" (tensors, autodiff), "high-level" (layers, fit), "by-hand" (numpy)
    ENGINES: ClassVar[tuple[str, ...]]  # engines it runs on; the first one is named after FRAMEWORK
    MODULES: ClassVar[tuple[str, ...]] = ()  # modules it needs beyond its engine's
    MODES: ClassVar[Mapping[str, str]] = {"default": "idiomatic code"}
    SUPPORTS_GPU: ClassVar[bool] = True
    DATA_PATH: ClassVar[str]  # how batches reach the model, recorded per run
    OWN_SHUFFLE_MODES: ClassVar[tuple[str, ...]] = ()  # modes that shuffle by themselves, not in
    # the harness's order (Keras' fit on arrays): their runs train on other batches, said per run
    SYNC_METHOD: ClassVar[str] = ""  # recorded per run; empty: the engine's
    # What compiles (or does not compile) the training step in each mode, recorded per run as
    # ``execution.compile``; a mode it does not name records none.
    COMPILE: ClassVar[Mapping[str, str]] = {}
    # Facts of its own that :meth:`execution` adds to the contract's (Keras' backend, Lightning's
    # trainer settings), each with its type: recorded as ``execution["plugin"]``; a fact it adds
    # and does not declare here crashes the run, naming it (so a record says only declared facts).
    FACTS: ClassVar[Mapping[str, type | tuple[type, ...]]] = {}
    # Whether the class implements each optional method: derived from the class's own methods, never
    # declared, so it cannot disagree with them; callers check it instead of calling and catching.
    SUPPORTS_PREDICT_BATCH: ClassVar[bool] = False
    SUPPORTS_GET_PARAMS: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for method, (capability, _) in OPTIONAL_METHODS.items():
            setattr(cls, capability, getattr(cls, method) is not getattr(Trainer, method))

    @classmethod
    def lacks(cls, method: str) -> str | None:
        """``None`` when the class implements the optional ``method``, else the reason a caller
        that needs it skips the class: which implementation, which method, what needs it."""
        if method not in OPTIONAL_METHODS:
            raise ValueError(f"no optional Trainer method {method!r}; valid: {', '.join(OPTIONAL_METHODS)}")
        capability, needed_by = OPTIONAL_METHODS[method]
        if getattr(cls, capability):
            return None
        return (
            f"{cls.FRAMEWORK} ({cls.__name__}) does not implement the optional Trainer.{method} "
            f"({capability} is False): {needed_by} need it"
        )

    def __init__(self, spec: TrainSpec, device: str, mode: str, engine: type[Engine]) -> None:
        reason = self.mode_reason(mode, engine.NAME)
        if reason:
            raise Unavailable(reason)
        self.spec = spec
        self.device = device
        self.mode = mode
        self.engine = engine

    @classmethod
    def mode_reason(cls, mode: str, engine: str) -> str | None:
        """``None`` when ``mode`` can run on ``engine``, else why not."""
        if mode not in cls.MODES:
            return f"{cls.FRAMEWORK} has no mode {mode!r}; its modes: {', '.join(cls.MODES)}"
        return None

    @classmethod
    def worker_env(cls, engine: str) -> dict[str, str]:
        """Environment variables its worker needs before anything is imported (Keras: its backend)."""
        return {}

    @classmethod
    def prepare(cls, engine: str) -> dict[str, Any]:
        """Import what the API style needs once per worker, after the engine's setup (inside the
        worker's timed import); return ``{"versions": {...}}`` of what it imported. Raise to make
        the implementation unavailable. The default imports :attr:`MODULES` and records each one's
        ``__version__`` (``""``: none); an override that sets up more calls it too."""
        modules = {name: importlib.import_module(name) for name in cls.MODULES}
        return {"versions": {name: getattr(module, "__version__", "") for name, module in modules.items()}}

    @abstractmethod
    def build(self, params: list[np.ndarray], data: Splits) -> None:
        """Create the model with ``params`` as its weights and place ``data`` on the device
        (:meth:`place` does it with the engine's :meth:`Engine.to_device`)."""

    def place(self, data: Splits, on_host: bool = False) -> dict[str, tuple[Any, Any]]:
        """Every split's ``(x, y)``, placed on this run's device by the engine (``on_host``: kept
        as host arrays, for an API that takes numpy arrays itself, such as Keras' ``fit``)."""
        if on_host:
            return {s: data.split(s) for s in SPLIT_NAMES}
        put = partial(self.engine.to_device, self.device)
        return {s: tuple(put(a) for a in data.split(s)) for s in SPLIT_NAMES}  # type: ignore[misc]

    def fit(self, orders: EpochOrders, hooks: EpochHooks) -> None:
        """Train ``spec.epochs`` epochs, epoch ``e`` on the batches of ``orders(e)``, calling
        ``hooks`` around each. This loop suits the low-level style; an implementation whose users
        hand the whole training to a framework (``model.fit``, ``Trainer.fit``) overrides it and
        calls the hooks from the framework's callbacks."""
        for epoch in range(self.spec.epochs):
            hooks.epoch_start(epoch)
            order = orders(epoch)
            hooks.steps_start(epoch)
            self.train_epoch(order)
            if hooks.epoch_end(epoch):
                return

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

    def get_params(self) -> list[np.ndarray]:
        """Optional: the current weights as numpy arrays in the ``[W1, b1, ...]`` layout, what the
        parity tests compare across implementations (``tests/tasks/test_parity.py``)."""
        raise NotImplementedError(self.lacks("get_params"))

    @abstractmethod
    def sync_values(self) -> Sequence[Any]:
        """The arrays a training step updates last: what :meth:`sync` waits for."""

    def sync(self) -> None:
        """Block until every queued computation on the device has finished."""
        self.engine.sync(self.device, self.sync_values())

    def warm_up(self) -> None:
        """Untimed work right before a timed epoch that follows other processes' epochs (the
        interleaved schedule): a process that sat idle starts its next epoch slower (its thread
        pool asleep, its caches cold). Must not change the model: the default is a forward pass
        over the training split."""
        self.evaluate("train")

    def predict_batch(self, x: np.ndarray) -> None:
        """Optional: a forward pass on host array ``x`` that waits for its result, what the
        inference micro-benchmarks time (``tests/benchmarks/test_micro.py``)."""
        raise NotImplementedError(self.lacks("predict_batch"))

    def execution(self) -> dict[str, Any]:
        """Facts about how this run executes, for the record: the contract's (mode, data path, whose
        batch order, sync, what compiles) and any of the implementation's own, declared in
        :attr:`FACTS`."""
        return {
            "mode": self.mode,
            "data_path": self.DATA_PATH,
            "batches": BATCHES_OWN if self.mode in self.OWN_SHUFFLE_MODES else BATCHES_HARNESS,
            "sync_method": self.SYNC_METHOD or self.engine.SYNC_METHOD,
        } | ({"compile": self.COMPILE[self.mode]} if self.mode in self.COMPILE else {})

    def device_memory_peak_bytes(self) -> int | None:
        """Peak device memory of this run, where the engine exposes it; ``None`` on CPU."""
        return self.engine.memory_peak_bytes(self.device)
