"""A throwaway implementation for the plug-in tests: softmax regression by SGD in numpy, with only
the methods a run needs (neither of the optional ``predict_batch`` and ``get_params``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.errors import SpecError
from harness.plugins.contract import Splits, Trainer
from tasks.mlp.common import batch_slices, metrics_from_logits


class ToySoftmax(Trainer):
    FRAMEWORK = "toy"
    API = "low-level"
    ENGINES = ("toy",)
    DATA_PATH = "numpy arrays"

    def build(self, params: list[np.ndarray], data: Splits) -> None:
        if self.spec.hidden or self.spec.optimizer != "sgd":
            raise SpecError("toy: only hidden=[] and optimizer='sgd'")
        self.w, self.b = (p.astype(np.float64) for p in params)
        self.data = self.place(data)

    def train_step(self, index: np.ndarray) -> float:
        x, y = self.data["train"][0][index], self.data["train"][1][index]
        z = x @ self.w + self.b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        loss = float(-np.log(p[np.arange(len(y)), y]).mean())
        p[np.arange(len(y)), y] -= 1
        self.w -= self.spec.learning_rate * x.T @ p / len(y)
        self.b -= self.spec.learning_rate * p.mean(axis=0)
        return loss

    def train_epoch(self, order: np.ndarray) -> None:
        for index in batch_slices(order, self.spec.batch_size):
            self.train_step(index)

    def evaluate(self, split: str) -> tuple[float, float]:
        x, y = self.data[split]
        return metrics_from_logits(x @ self.w + self.b, y)

    def sync_values(self) -> Sequence[Any]:
        return ()
