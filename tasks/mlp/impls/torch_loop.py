"""PyTorch, low-level style: an ``nn.Module``, a ``torch.optim`` optimizer and an explicit loop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.spec.contract import Trainer
from harness.spec.train_spec import ADAM_BETAS, ADAM_EPSILON, TrainSpec
from tasks.mlp.engines.torch_engine import device_of, torch
from tasks.mlp.spec import batch_slices


def build_module(spec: TrainSpec) -> Any:
    """``Linear -> activation -> Dropout`` per hidden layer, then a ``Linear`` to the logits."""
    nn = torch.nn
    act = {"relu": nn.ReLU, "tanh": nn.Tanh}[spec.activation]
    layers: list[Any] = []
    sizes = spec.layer_sizes()
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers += [nn.Linear(fan_in, fan_out), act()]
        if spec.dropout:
            layers.append(nn.Dropout(spec.dropout))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


def make_optimizer(spec: TrainSpec, parameters: Any, fused: bool | None = None) -> Any:
    """Adam -> ``AdamW`` (decoupled weight decay, as the spec defines it); SGD -> ``SGD``.

    For SGD without momentum torch's coupled L2 equals the spec's decoupled decay. ``fused=True``
    updates every parameter in one kernel; ``None`` lets torch choose (per-parameter loops on CPU).
    """
    if spec.optimizer == "adam":
        return torch.optim.AdamW(
            parameters,
            lr=spec.learning_rate,
            betas=ADAM_BETAS,
            eps=ADAM_EPSILON,
            weight_decay=spec.weight_decay,
            fused=fused,
        )
    return torch.optim.SGD(
        parameters,
        lr=spec.learning_rate,
        momentum=spec.momentum,
        weight_decay=spec.weight_decay,
        fused=fused,
    )


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

    def build(self, params: list[np.ndarray], data: Any) -> None:
        self.dev = device_of(self.device)
        torch.manual_seed(self.spec.seed)  # dropout masks
        self.module = build_module(self.spec).to(self.dev)
        self._load(params)
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
        self.data = {
            split: (
                torch.as_tensor(x, device=self.dev),
                torch.as_tensor(y, device=self.dev),
            )
            for split, (x, y) in ((s, data.split(s)) for s in ("train", "val", "test"))
        }

    def _linears(self) -> list[Any]:
        return [m for m in self.module if isinstance(m, torch.nn.Linear)]

    def _load(self, params: list[np.ndarray]) -> None:
        with torch.no_grad():
            for layer, w, b in zip(self._linears(), params[::2], params[1::2], strict=True):
                layer.weight.copy_(torch.as_tensor(w.T))
                layer.bias.copy_(torch.as_tensor(b))

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
        """Five forward and backward passes on one batch, no update: after other processes' epochs
        an eager torch step starts ~13% slower until its thread pool and caches are warm again (one
        pass is not enough, five are: measured in tests/benchmarks/switching.py). In eval mode, so
        dropout draws no random numbers and training goes on exactly as it would have."""
        x, y = self.data["train"]
        self.model.eval()
        index = torch.arange(min(self.spec.batch_size, len(y)), device=self.dev)
        for _ in range(5):
            self.loss_fn(self.model(x[index]), y[index]).backward()
        self.optimizer.zero_grad(set_to_none=True)

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
        out: list[np.ndarray] = []
        for layer in self._linears():
            out += [layer.weight.detach().cpu().numpy().T.copy(), layer.bias.detach().cpu().numpy().copy()]
        return out

    def sync_values(self) -> Sequence[Any]:
        return ()

    def execution(self) -> dict[str, Any]:
        out = super().execution()
        if self.mode == "compile":
            out["compile"] = "torch.compile (inductor" + (
                ", CUDA graphs)" if self.dev.type == "cuda" else ")"
            )
        else:
            out["compile"] = "eager"
        out["optimizer_kernel"] = (
            "fused" if self.optimizer.defaults.get("fused") else "default (foreach/for-loop)"
        )
        return out
