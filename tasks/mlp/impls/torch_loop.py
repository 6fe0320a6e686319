"""PyTorch, low-level style: an ``nn.Module``, a ``torch.optim`` optimizer and an explicit loop."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.plugins.contract import Splits, Trainer
from tasks.mlp.engines.torch_engine import device_of, torch
from tasks.mlp.shared.torch_modules import build_module, load_weights, make_optimizer
from tasks.mlp.shared.torch_steps import TorchSteps


class TorchTrainer(TorchSteps, Trainer):
    """``nn.Sequential`` + ``torch.optim`` + a Python loop over index batches on the device: the
    step (zero_grad, forward, loss, backward, step) and the loop are :class:`TorchSteps`'."""

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
        self.model = self.net = self.module
        if self.mode == "compile":
            # A fresh compile per run: dynamo's caches would otherwise carry graphs (and dynamic
            # shapes learnt from the previous task) from one run of this worker into the next.
            torch.compiler.reset()
            self.model = torch.compile(
                self.module, mode="reduce-overhead" if self.dev.type == "cuda" else None
            )
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.data = self.place(data)

    def execution(self) -> dict[str, Any]:
        out = super().execution()
        if self.mode == "compile" and self.dev.type == "cuda":
            out["compile"] = "torch.compile (inductor, CUDA graphs)"
        out["optimizer_kernel"] = self.optimizer_kernel()
        return out
