"""Micro-benchmarks (pytest-benchmark): one training step and one inference batch per
implementation, device and problem size.

Run with ``tox -e bench-micro`` (or ``pytest tests/benchmarks --benchmark-only``; the normal test
run ignores this folder). Implementations come from :mod:`harness.plugins.registry`, so a new
file under ``tasks/mlp/impls/`` is benchmarked without touching this file. Every timed call ends with the
device done: ``train_step`` returns a host float and is followed by ``sync`` as in
:mod:`harness.run.measure`; ``predict_batch`` waits for its result (it is optional: an
implementation without it is skipped, with the reason, in the inference benchmark).

Unlike ``harness run``, everything runs in this one process: Keras is benchmarked on the backend
``$KERAS_BACKEND`` names (TensorFlow by default); other Keras backends are skipped with a reason.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from harness.plugins import registry
from harness.plugins.contract import Trainer
from harness.problem.train_spec import TrainSpec
from harness.run import machine, worker
from tasks.datasets import Splits
from tasks.mlp import common
from tasks.mlp.task import MlpTasks
from tests.real_runs import skip_without

SYNTHETIC_SIZES = {"train": 8192, "val": 1024, "test": 1024}
# Problem name -> (spec, data loader). "mnist-synthetic" is the MNIST-sized network on random
# data with MNIST's shapes, so it needs no download.
PROBLEMS = ("digits", "mnist-synthetic")
THREADS = os.cpu_count() or 1  # as harness.plan.requests.Plan: every core, for every framework
WARMUP_CALLS = 5  # compile / trace / allocator warm-up before pytest-benchmark's own warm-up


def _problem(name: str) -> tuple[TrainSpec, Callable[[TrainSpec], Splits]]:
    if name == "mnist-synthetic":
        return MlpTasks.make_spec("mnist"), _synthetic_splits
    return MlpTasks.make_spec(name), MlpTasks.load_data


def _synthetic_splits(spec: TrainSpec) -> Splits:
    """Random standard-normal features and uniform labels with the spec's shapes (seeded)."""
    rng = np.random.default_rng(spec.seed)
    arrays: dict[str, np.ndarray] = {}
    for split, rows in SYNTHETIC_SIZES.items():
        arrays[f"x_{split}"] = rng.standard_normal((rows, spec.n_features), dtype=np.float32)
        arrays[f"y_{split}"] = rng.integers(0, spec.n_classes, size=rows, dtype=np.int64)
    return Splits(name=f"{spec.task}-synthetic", **arrays)


def _cases() -> Iterator[Any]:
    """One ``(impl, device)`` param per discovered implementation and device; gpu ones marked."""
    for info in registry.implementations().values():
        for device in ("cpu", "gpu"):
            marks = [pytest.mark.gpu] if device == "gpu" else []
            yield pytest.param(info.name, device, marks=marks, id=f"{info.name}-{device}")


def _skip_reason(info: registry.ImplInfo, device: str) -> str | None:
    """Why ``info`` cannot be benchmarked on ``device`` in this process, found before importing it."""
    active = os.environ.get("KERAS_BACKEND", "tensorflow")
    if info.framework == "keras" and info.backend != active:
        return (
            f"Keras picks its backend once per process and this one runs {active!r}; "
            f"benchmark {info.name} with KERAS_BACKEND={info.backend} pytest tests/benchmarks"
        )
    if device == "gpu" and not info.supports_gpu:
        return f"{info.name} does not support GPUs"
    return info.unavailable_reason()


class TrainerCache:
    """Built trainers, one per (implementation, device, problem), shared by the benchmarks."""

    def __init__(self) -> None:
        self._built: dict[tuple[str, str, str], tuple[Trainer, Splits]] = {}

    def get(self, impl: str, device: str, problem: str) -> tuple[Trainer, Splits]:
        """The trainer (built, weights initialised, data on the device) and its data; skips if
        the implementation or device cannot run here."""
        key = (impl, device, problem)
        if key not in self._built:
            self._built[key] = self._build(impl, device, problem)
        return self._built[key]

    @staticmethod
    def _build(impl: str, device: str, problem: str) -> tuple[Trainer, Splits]:
        info = registry.get(impl)
        reason = _skip_reason(info, device)
        if reason:
            pytest.skip(reason)
        unit, _ = worker.prepare(impl, THREADS)
        reason = unit.engine.device_reason(device)
        if reason:
            pytest.skip(reason)
        spec, load = _problem(problem)
        data = load(spec)
        trainer = unit.trainer(spec, device, "default", unit.engine)
        trainer.build(MlpTasks.init_params(spec), data)
        return trainer, data


@pytest.fixture(scope="session")
def trainers() -> TrainerCache:
    """The session's trainer cache."""
    return TrainerCache()


def _label(benchmark: Any, kind: str, problem: str, impl: str, device: str) -> None:
    info = machine.machine_info()
    benchmark.group = f"{kind}[{problem}]"
    benchmark.extra_info.update(
        {
            "machine_id": info["machine_id"],
            "fingerprint": info["fingerprint"],
            "impl": impl,
            "device": device,
            "problem": problem,
        }
    )


def _warm(fn: Callable[[], Any]) -> Callable[[], Any]:
    for _ in range(WARMUP_CALLS):
        fn()
    return fn


def _step_fn(trainer: Trainer, data: Splits) -> Callable[[], None]:
    """One synchronised training step per call, cycling through the full batches of one epoch."""
    spec = trainer.spec
    order = MlpTasks.batch_order(spec, 0, len(data.y_train))
    full = [b for b in common.batch_slices(order, spec.batch_size) if len(b) == spec.batch_size]
    batches = itertools.cycle(full)

    def step() -> None:
        trainer.train_step(next(batches))
        trainer.sync()

    return step


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize(("impl", "device"), list(_cases()))
def test_train_step(benchmark: Any, trainers: TrainerCache, impl: str, device: str, problem: str) -> None:
    """One training step on a full batch, device synchronised; the loss stays finite."""
    trainer, data = trainers.get(impl, device, problem)
    _label(benchmark, "train_step", problem, impl, device)
    benchmark(_warm(_step_fn(trainer, data)))
    loss = trainer.train_step(np.arange(trainer.spec.batch_size))
    assert np.isfinite(loss)


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize(("impl", "device"), list(_cases()))
def test_inference(benchmark: Any, trainers: TrainerCache, impl: str, device: str, problem: str) -> None:
    """A forward pass on ``batch_size`` host rows of the test split, waiting for the result."""
    skip_without(registry.get(impl).trainer_class(), "predict_batch")
    trainer, data = trainers.get(impl, device, problem)
    _label(benchmark, "inference", problem, impl, device)
    x = np.ascontiguousarray(data.x_test[: trainer.spec.batch_size])
    benchmark(_warm(lambda: trainer.predict_batch(x)))
    assert benchmark.stats.stats.median > 0
