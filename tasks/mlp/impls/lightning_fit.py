"""PyTorch Lightning, high-level style: a ``LightningModule`` trained by one ``Trainer.fit`` call.

The module and optimizer are the torch ones (same layers, same ``torch.optim`` settings); what
Lightning adds is its loop: the data fetcher, hooks, the automatic optimization closure and the
callback that meets the harness's epoch hooks. ``train_epoch`` and ``train_step`` run the same
module and optimizer without the Trainer (single-step timing, parity probes), as a plain manual
step equal to Lightning's automatic one: forward, zero_grad, backward, step.

Lightning is imported lazily, and the ``LightningModule`` and ``Callback`` subclasses are defined
inside functions, so importing this file imports neither torch nor Lightning.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.plugins.contract import EpochHooks, EpochOrders, LazyModule, Splits, Trainer
from harness.problem.train_spec import TrainSpec
from tasks.mlp.engines.torch_engine import device_of, torch
from tasks.mlp.shared.lightning_fit_hooks import back_on_device, epoch_callback, harness_loader, quiet_worker
from tasks.mlp.shared.torch_modules import build_module, load_weights, make_optimizer
from tasks.mlp.shared.torch_steps import TorchSteps

pl: Any = LazyModule("pytorch_lightning")

# The settings users set for speed and that a fair timing needs (the harness evaluates itself).
TRAINER_SETTINGS: dict[str, Any] = {
    "enable_progress_bar": False,
    "logger": False,
    "enable_checkpointing": False,
    "num_sanity_val_steps": 0,
    "enable_model_summary": False,
}


def make_module(spec: TrainSpec, fused: bool | None) -> Any:
    """A ``LightningModule`` around :func:`build_net`, its optimizer created with it: the manual
    steps and ``Trainer.fit`` must share one optimizer state, and ``configure_optimizers`` is
    called again by every ``fit``."""

    class MLPModule(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = build_module(spec)
            self.loss_fn = torch.nn.CrossEntropyLoss()
            self.optimizer = make_optimizer(spec, self.parameters(), fused)

        def forward(self, x: Any) -> Any:
            return self.net(x)

        def training_step(self, batch: tuple[Any, Any], batch_idx: int) -> Any:
            x, y = batch
            return self.loss_fn(self.net(x), y)

        def configure_optimizers(self) -> Any:
            return self.optimizer

    return MLPModule()


class LightningTrainer(TorchSteps, Trainer):
    """A ``LightningModule`` and one ``pl.Trainer.fit`` over every epoch; a callback calls the hooks.
    Single steps, evaluation and prediction: :class:`TorchSteps`, back in train mode after each."""

    TRAIN_AFTER_EVAL = True  # the harness evaluates from inside Lightning's loop (epoch-end callback)

    FRAMEWORK = "lightning"
    API = "high-level"
    ENGINES = ("torch",)
    MODULES = ("pytorch_lightning",)
    MODES = {
        "default": "LightningModule + Trainer.fit, torch.optim with torch's default kernels",
        "fused": "LightningModule + Trainer.fit, fused=True torch.optim (one kernel updates all parameters)",
    }
    DATA_PATH = (
        "whole dataset as tensors on the device; a DataLoader (num_workers=0) whose batch sampler "
        "yields index batches and whose dataset gathers a batch by index on the device (__getitems__)"
    )
    FACTS = {**TorchSteps.FACTS, "trainer": dict, "loop": str}

    @classmethod
    def prepare(cls, engine: str) -> dict[str, Any]:
        versions = super().prepare(engine)  # imports Lightning
        quiet_worker()
        return versions

    def build(self, params: list[np.ndarray], data: Splits) -> None:
        self.dev = device_of(self.device)
        torch.manual_seed(self.spec.seed)  # dropout masks
        self.module = make_module(self.spec, fused=self.mode == "fused" or None).to(self.dev)
        load_weights(self.module.net, params)
        self.model, self.net = self.module, self.module.net
        self.optimizer, self.loss_fn = self.module.optimizer, self.module.loss_fn
        self.data = self.place(data)

    def fit(self, orders: EpochOrders, hooks: EpochHooks) -> None:
        loader = harness_loader(*self.data["train"], orders, self.spec.batch_size, self.dev)
        trainer = pl.Trainer(callbacks=[epoch_callback(hooks)], **self._trainer_settings())
        self.module.train()
        trainer.fit(self.module, train_dataloaders=loader)
        back_on_device(self.module, self.optimizer, self.dev)

    def _trainer_settings(self) -> dict[str, Any]:
        """What ``pl.Trainer`` is given, and the record says, besides the callback."""
        accelerator = "gpu" if self.device == "gpu" else "cpu"
        return {**TRAINER_SETTINGS, "max_epochs": self.spec.epochs, "accelerator": accelerator, "devices": 1}

    def _step(self, index: Any) -> Any:
        """Lightning's automatic optimization by hand: training_step, zero_grad, backward, step."""
        x, y = self.data["train"]
        loss = self.module.training_step((x[index], y[index]), 0)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss

    def execution(self) -> dict[str, Any]:
        out = super().execution()
        out["trainer"] = self._trainer_settings()
        out["loop"] = "one Trainer.fit over every epoch, automatic optimization"
        out["optimizer_kernel"] = self.optimizer_kernel()
        return out
