"""The MLP classification tasks (iris, digits, mnist1d, MNIST) as the harness sees them: one
:class:`~harness.plugins.contract.TaskFamily`, a declarative spec per dataset, and what every
implementation starts from (the data, the initial weights, each epoch's batch order).

Initial weights are drawn once in numpy from the seed and loaded into each framework, and each
epoch's batch order is a numpy permutation of the seed and epoch: the frameworks then differ only
in how they compute, which is what the parity tests check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import SpecError
from harness.plugins.contract import Splits, TaskFamily
from harness.problem.train_spec import TrainSpec
from tasks import datasets

# Sized for each dataset; the lab's single-layer network is the same spec with hidden=().
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "iris": dict(
        hidden=(32, 32),
        optimizer="adam",
        learning_rate=1e-2,
        batch_size=16,
        epochs=60,
        target_val_accuracy=0.9,
    ),
    "digits": dict(
        hidden=(256, 128),
        optimizer="adam",
        learning_rate=1e-3,
        batch_size=64,
        epochs=20,
        target_val_accuracy=0.95,
    ),
    "mnist1d": dict(
        hidden=(256, 256),
        optimizer="adam",
        learning_rate=2e-3,
        batch_size=100,
        epochs=60,
        target_val_accuracy=0.6,
    ),
    "mnist": dict(
        hidden=(512, 256),
        optimizer="adam",
        learning_rate=1e-3,
        batch_size=128,
        epochs=10,
        target_val_accuracy=0.97,
    ),
}
TASK_SHAPES = {"iris": (4, 3), "digits": (64, 10), "mnist1d": (40, 10), "mnist": (784, 10)}


class MlpTasks(TaskFamily):
    """Four classification datasets for the same MLP, small to large; the shipped suites."""

    TASKS = tuple(TASK_DEFAULTS)
    SUITES = Path(__file__).resolve().parents[1] / "suites"

    @classmethod
    def make_spec(cls, task: str, **overrides: Any) -> TrainSpec:
        """The default spec of ``task`` with ``overrides`` applied (unknown task or field: error)."""
        if task not in TASK_DEFAULTS:
            raise SpecError(f"unknown task {task!r}; valid: {', '.join(cls.TASKS)}")
        n_features, n_classes = TASK_SHAPES[task]
        base = TrainSpec(task=task, n_features=n_features, n_classes=n_classes, **TASK_DEFAULTS[task])
        return base.replace(**overrides) if overrides else base

    @classmethod
    def check_spec(cls, spec: TrainSpec, n_train: int | None = None) -> None:
        """Raise :class:`SpecError` when a batch is larger than the training split (``n_train``,
        computed from the spec when not given, without loading the data)."""
        n_train = datasets.train_size(spec.task, spec.train_fraction) if n_train is None else n_train
        if spec.batch_size > n_train:
            raise SpecError(
                f"batch_size={spec.batch_size} is larger than the {spec.task} training split "
                f"({n_train} samples); use at most {n_train}"
            )

    @classmethod
    def load_data(cls, spec: TrainSpec) -> Splits:
        """The spec's dataset, subsampled and label-corrupted as the spec says; checks batch size."""
        splits = datasets.load(spec.task, spec.split_seed)
        if spec.train_fraction < 1.0 or spec.label_noise > 0.0:
            splits = datasets.subsample_and_corrupt(splits, spec.train_fraction, spec.label_noise, spec.seed)
        cls.check_spec(spec, len(splits.y_train))
        return splits

    @classmethod
    def init_params(cls, spec: TrainSpec) -> list[np.ndarray]:
        """Initial ``[W1 (in, out), b1, ...]`` in float32 from ``spec.seed``; biases are zero.

        ``glorot_uniform`` is Keras' default, ``he_uniform`` suits ReLU; both are drawn here, once,
        so every framework starts from the same point.
        """
        rng = np.random.default_rng([spec.seed, 1])
        sizes = spec.layer_sizes()
        params: list[np.ndarray] = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            fan = fan_in + fan_out if spec.init == "glorot_uniform" else fan_in
            limit = np.sqrt(6.0 / fan)
            params.append(rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32))
            params.append(np.zeros(fan_out, dtype=np.float32))
        return params

    @classmethod
    def batch_order(cls, spec: TrainSpec, epoch: int, n_train: int) -> np.ndarray:
        """The permutation of training indices for ``epoch`` (0-based), the same in every framework."""
        rng = np.random.default_rng([spec.seed, 2, epoch])
        return rng.permutation(n_train).astype(np.int64)

    @classmethod
    def train_flops_per_sample(cls, spec: TrainSpec) -> int:
        """FLOPs to train on one sample: forward ``2*in*out`` per layer, backward twice that.

        Bias adds, activations, softmax and the optimizer update are left out (they are O(width),
        not O(width^2)), as is the input layer's gradient w.r.t. its input, which no framework
        computes: so the backward of the first layer is ``2*in*out`` (weights only), others ``4*in*out``.
        """
        sizes = spec.layer_sizes()
        total = 0
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            matmul = 2 * fan_in * fan_out
            total += matmul + (matmul if i == 0 else 2 * matmul)
        return total

    @classmethod
    def split_sizes(cls, spec: TrainSpec) -> tuple[int, int, int]:
        """Training (after ``train_fraction``), validation and test samples, without loading."""
        _, n_val, n_test = datasets.SPLIT_SIZES[spec.task]
        return datasets.train_size(spec.task, spec.train_fraction), n_val, n_test

    @classmethod
    def data_ready(cls, spec: TrainSpec) -> bool:
        return datasets.cached(spec.task)

    @classmethod
    def prepare(cls, spec: TrainSpec) -> None:
        """Download or generate the spec's dataset into the cache (what a run then reads)."""
        datasets.load(spec.task, spec.split_seed)
