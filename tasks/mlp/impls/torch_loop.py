"""PyTorch, low-level style: an ``nn.Module``, a ``torch.optim`` optimizer and an explicit loop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.plugins.contract import Splits, Trainer
from tasks.mlp.engines.torch_engine import device_of, torch
from tasks.mlp.problem import batch_slices
from tasks.mlp.shared import torch_modules
from tasks.mlp.shared.torch_modules import build_module, load_weights, make_optimizer, read_weights


class TorchTrainer(Trainer):
    """``nn.Sequential`` + ``torch.optim`` + a Python loop over index batches on the device."""

    FRAMEWORK = "torch"
    API = "low-level"
    ENGINES = ("torch",)
    MODES = {
        "default": "eager nn.Module with torch.optim",
        "fused": "eager nn.Module, torch.optim with fused=True (one kernel updates every parameter)",
        "compile": "torch.compile(model) (mode='reduce-overhead', i.e. CUDA graphs, on gpu)",
    }
    DATA_PATH = "whole dataset as tensors on the device; batches gathered by index on the device"
    COMPILE = {"default": "eager", "fused": "eager", "compile": "torch.compile (inductor)"}

    def build(self, params: list[np.ndarray], data: Splits) -> None:
        self.dev = device_of(self.device)
        torch.manual_seed(self.spec.seed)  # dropout masks
        self.module = build_module(self.spec).to(self.dev)
        load_weights(self.module, params)
        self.optimizer = make_optimizer(
            self.spec, self.module.parameters(), fused=self.mode == "fused" or None
        )
        self.model = self.module
        if self.mode == "compile":
            # A fresh compile per run: dynamo's caches would otherwise carry graphs (and dynamic
            # shapes learnt from the previous task) from one run of this worker into the next.
            torch.compiler.reset()
            self.model = torch.compile(
                self.module, mode="reduce-overhead" if self.dev.type == "cuda" else None
            )
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.data = self.place(data)

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
        loss = torch.nn.functional.cross_entropy(logits, y)
        acc = (logits.argmax(dim=1) == y).float().mean()
        return float(loss.item()), float(acc.item())

    def predict_batch(self, x: np.ndarray) -> None:
        self.model.eval()
        with torch.no_grad():
            self.model(torch.as_tensor(x, device=self.dev)).cpu()

    def get_params(self) -> list[np.ndarray]:
        return read_weights(self.module)

    def sync_values(self) -> Sequence[Any]:
        return ()

    def execution(self) -> dict[str, Any]:
        out = super().execution()
        if self.mode == "compile" and self.dev.type == "cuda":
            out["compile"] = "torch.compile (inductor, CUDA graphs)"
        out["optimizer_kernel"] = (
            "fused" if self.optimizer.defaults.get("fused") else "default (foreach/for-loop)"
        )
        return out
