"""The MLP classification tasks (iris, digits, mnist1d, MNIST) as the harness sees them: one
:class:`~harness.plugins.contract.TaskFamily`, whose methods are :mod:`tasks.mlp.common`'s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.plugins.contract import Splits, TaskFamily
from harness.problem.train_spec import TrainSpec
from tasks import datasets
from tasks.mlp import common


class MlpTasks(TaskFamily):
    """Four classification datasets for the same MLP, small to large; the shipped suites."""

    TASKS = common.TASKS
    SUITES = Path(__file__).resolve().parents[1] / "suites"

    @classmethod
    def make_spec(cls, task: str, **overrides: Any) -> TrainSpec:
        return common.make_spec(task, **overrides)

    @classmethod
    def check_spec(cls, train_spec: TrainSpec) -> None:
        common.check_batch_size(train_spec)

    @classmethod
    def load_data(cls, train_spec: TrainSpec) -> Splits:
        return common.load_data(train_spec)

    @classmethod
    def init_params(cls, train_spec: TrainSpec) -> list[np.ndarray]:
        return common.init_params(train_spec)

    @classmethod
    def batch_order(cls, train_spec: TrainSpec, epoch: int, n_train: int) -> np.ndarray:
        return common.batch_order(train_spec, epoch, n_train)

    @classmethod
    def train_flops_per_sample(cls, train_spec: TrainSpec) -> int:
        return common.train_flops_per_sample(train_spec)

    @classmethod
    def split_sizes(cls, train_spec: TrainSpec) -> tuple[int, int, int]:
        return common.split_sizes(train_spec)

    @classmethod
    def data_ready(cls, train_spec: TrainSpec) -> bool:
        return datasets.cached(train_spec.task)

    @classmethod
    def prepare(cls, train_spec: TrainSpec) -> None:
        common.prepare(train_spec)
