"""A throwaway task family for tests/plugins/test_registry.py: "blobs", three Gaussian clusters in
two dimensions, defined in a folder outside the project and found through ``$MLPBENCH_PLUGINS``.
It stands alone: it imports the harness's contract only, never ``tasks/``."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.errors import SpecError
from harness.plugins.contract import Splits, TaskFamily
from harness.problem.train_spec import TrainSpec

SIZES = {"train": 300, "val": 90, "test": 90}


class BlobTasks(TaskFamily):
    """One task: 3 well separated blobs, 2 features."""

    TASKS = ("blobs",)

    @classmethod
    def make_spec(cls, task: str, **overrides: Any) -> TrainSpec:
        if task not in cls.TASKS:
            raise SpecError(f"unknown task {task!r}; valid: blobs")
        base = TrainSpec(task=task, n_features=2, n_classes=3, hidden=(16,), batch_size=30, epochs=10)
        return base.replace(**overrides) if overrides else base

    @classmethod
    def check_spec(cls, spec: TrainSpec) -> None:
        if spec.batch_size > SIZES["train"]:
            raise SpecError(f"batch_size={spec.batch_size} is larger than blobs' {SIZES['train']}")

    @classmethod
    def load_data(cls, spec: TrainSpec) -> Splits:
        rng = np.random.default_rng(spec.split_seed)
        centres = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
        arrays = {}
        for split, n in SIZES.items():
            y = rng.integers(0, 3, n)
            arrays[f"x_{split}"] = (centres[y] + rng.normal(0, 0.7, (n, 2))).astype(np.float32)
            arrays[f"y_{split}"] = y.astype(np.int64)
        return Splits(name="blobs", **arrays)

    @classmethod
    def init_params(cls, spec: TrainSpec) -> list[np.ndarray]:
        rng = np.random.default_rng(spec.seed)
        sizes = spec.layer_sizes()
        out: list[np.ndarray] = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            out += [
                rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32),
                np.zeros(fan_out, np.float32),
            ]
        return out

    @classmethod
    def batch_order(cls, spec: TrainSpec, epoch: int, n_train: int) -> np.ndarray:
        return np.random.default_rng([spec.seed, epoch]).permutation(n_train).astype(np.int64)

    @classmethod
    def train_flops_per_sample(cls, spec: TrainSpec) -> int:
        sizes = spec.layer_sizes()
        return sum(6 * a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
