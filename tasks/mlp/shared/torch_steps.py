"""What every torch-based trainer does the same way, written once: a manual step on an index batch
of the device-resident training split, an epoch of them, evaluation, prediction and reading the
weights back. The torch loop and PyTorch Lightning differ only in who drives the training."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tasks.mlp.common import batch_slices
from tasks.mlp.engines.torch_engine import torch
from tasks.mlp.shared import torch_modules


class TorchSteps:
    """A mixin for a :class:`~harness.plugins.contract.Trainer` whose ``build`` sets ``dev``,
    ``data`` (device tensors), ``model`` (what is called), ``net`` (whose ``Linear`` layers hold
    the weights), ``loss_fn`` and ``optimizer``. ``TRAIN_AFTER_EVAL``: back to train mode after
    evaluating (a framework's own loop goes on from there)."""

    TRAIN_AFTER_EVAL = False
    FACTS = {"optimizer_kernel": str}  # what optimizer_kernel() says, recorded by each trainer
    dev: Any
    data: dict[str, tuple[Any, Any]]
    model: Any
    net: Any
    loss_fn: Any
    optimizer: Any
    spec: Any

    def _step(self, index: Any) -> Any:
        x, y = self.data["train"]
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(x[index]), y[index])
        loss.backward()
        self.optimizer.step()
        return loss

    def train_epoch(self, order: np.ndarray) -> None:
        self.model.train()
        order_dev = torch.as_tensor(order, device=self.dev)
        for index in batch_slices(order_dev, self.spec.batch_size):
            self._step(index)

    def train_step(self, index: np.ndarray) -> float:
        self.model.train()
        return float(self._step(torch.as_tensor(index, device=self.dev)).item())

    def warm_up(self) -> None:
        x, y = self.data["train"]
        torch_modules.warm_up(self.model, self.loss_fn, self.optimizer, x, y, self.spec.batch_size)

    def evaluate(self, split: str) -> tuple[float, float]:
        x, y = self.data[split]
        self.model.eval()
        with torch.no_grad():
            logits = self.model(x)
        self.model.train(self.TRAIN_AFTER_EVAL)
        loss = torch.nn.functional.cross_entropy(logits, y)
        acc = (logits.argmax(dim=1) == y).float().mean()
        return float(loss.item()), float(acc.item())

    def predict_batch(self, x: np.ndarray) -> None:
        self.model.eval()
        with torch.no_grad():
            self.model(torch.as_tensor(x, device=self.dev)).cpu()
        self.model.train(self.TRAIN_AFTER_EVAL)

    def get_params(self) -> list[np.ndarray]:
        return torch_modules.read_weights(self.net)

    def sync_values(self) -> Sequence[Any]:
        return ()

    def optimizer_kernel(self) -> str:
        """Which kernel ``torch.optim`` updates the parameters with."""
        return "fused" if self.optimizer.defaults.get("fused") else "default (foreach/for-loop)"
