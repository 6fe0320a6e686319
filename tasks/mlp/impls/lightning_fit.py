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

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.plugins.contract import EpochHooks, EpochOrders, LazyModule, Splits, Trainer
from harness.problem.train_spec import TrainSpec
from tasks.mlp.engines.torch_engine import device_of, torch
from tasks.mlp.problem import batch_slices
from tasks.mlp.shared import torch_modules
from tasks.mlp.shared.torch_modules import build_module, load_weights, make_optimizer, read_weights

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


def epoch_callback(hooks: EpochHooks) -> Any:
    """A ``Callback`` that calls the harness's hooks in every epoch (``steps_start`` before its first
    batch, after Lightning has started the epoch's data loader) and stops on request."""

    class HarnessHooks(pl.Callback):
        def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
            hooks.epoch_start(trainer.current_epoch)

        def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
            if batch_idx == 0:
                hooks.steps_start(trainer.current_epoch)

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if hooks.epoch_end(trainer.current_epoch):
                trainer.should_stop = True

    return HarnessHooks()


class DeviceTensors:
    """The training split as device tensors, read a whole batch at a time: ``DataLoader``'s
    fetcher calls ``__getitems__`` with the batch sampler's indices, so nothing is collated per
    sample (``DataLoader`` takes any object with these methods as its dataset)."""

    def __init__(self, x: Any, y: Any) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitems__(self, index: Any) -> tuple[Any, Any]:
        return self.x[index], self.y[index]


class EpochOrder:
    """The current epoch's permutation. Lightning calls ``set_epoch`` before each epoch on the
    loader's sampler and on ``batch_sampler.sampler`` (``lightning_fabric``'s
    ``_set_sampler_epoch``), not on the batch sampler itself: so it lives here."""

    def __init__(self, orders: EpochOrders) -> None:
        self.orders = orders
        self.order = orders(0)

    def set_epoch(self, epoch: int) -> None:
        self.order = self.orders(epoch)


class EpochBatches:
    """The batch sampler: the current epoch's order cut into consecutive batches on the device,
    as the harness's own loop cuts it."""

    def __init__(self, orders: EpochOrders, batch_size: int, device: Any) -> None:
        self.sampler = EpochOrder(orders)
        self.batch_size, self.device = batch_size, device

    def __len__(self) -> int:
        return -(-len(self.sampler.order) // self.batch_size)

    def __iter__(self) -> Any:
        # Moved to the device when the epoch's iteration starts, inside the timed epoch, as
        # the torch loop does in its train_epoch.
        order = torch.as_tensor(self.sampler.order, device=self.device)
        return iter(batch_slices(order, self.batch_size))


class LightningTrainer(Trainer):
    """A ``LightningModule`` and one ``pl.Trainer.fit`` over every epoch; a callback calls the hooks."""

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

    @classmethod
    def prepare(cls, engine: str) -> dict[str, Any]:
        version = pl.__version__  # imports Lightning, which sets its logger to INFO: silence it after
        # Workers print to stderr: Lightning's info lines (devices found, tips, fit stopped) are noise there.
        for name in ("pytorch_lightning", "lightning_fabric"):
            logging.getLogger(name).setLevel(logging.WARNING)
        # The data is already on the device: loader workers would only add processes and copies.
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        # Lightning 2.6 still builds torch's LeafSpec, which this torch deprecates: a note per fit.
        warnings.filterwarnings("ignore", r".*isinstance\(treespec, LeafSpec\).*", FutureWarning)
        return {"versions": {"pytorch_lightning": version}}

    def build(self, params: list[np.ndarray], data: Splits) -> None:
        self.dev = device_of(self.device)
        torch.manual_seed(self.spec.seed)  # dropout masks
        self.module = make_module(self.spec, fused=self.mode == "fused" or None).to(self.dev)
        load_weights(self.module.net, params)
        self.optimizer = self.module.optimizer
        self.data = self.place(data)

    def fit(self, orders: EpochOrders, hooks: EpochHooks) -> None:
        x, y = self.data["train"]
        loader = torch.utils.data.DataLoader(
            DeviceTensors(x, y),
            batch_sampler=EpochBatches(orders, self.spec.batch_size, self.dev),
            collate_fn=lambda batch: batch,
            num_workers=0,
            # Each epoch's iterator draws a base seed; from its own generator it leaves the global
            # one, which draws the dropout masks, as the torch loop leaves it.
            generator=torch.Generator(),
        )
        trainer = pl.Trainer(
            accelerator=self._accelerator(),
            devices=1,
            max_epochs=self.spec.epochs,
            callbacks=[epoch_callback(hooks)],
            **TRAINER_SETTINGS,
        )
        self.module.train()
        trainer.fit(self.module, train_dataloaders=loader)
        self._back_on_device()

    def _accelerator(self) -> str:
        return "gpu" if self.device == "gpu" else "cpu"

    def _back_on_device(self) -> None:
        """``fit`` ends by moving the module and optimizer state to the CPU (its strategy's
        teardown); put them back for the evaluation and single steps that follow. ``step`` stays
        where the optimizer keeps it, as Lightning leaves it."""
        self.module.to(self.dev)
        for state in self.optimizer.state.values():
            for key, value in state.items():
                if key != "step" and isinstance(value, torch.Tensor):
                    state[key] = value.to(self.dev)

    def _step(self, index: Any) -> Any:
        x, y = self.data["train"]
        loss = self.module.training_step((x[index], y[index]), 0)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss

    def train_epoch(self, order: np.ndarray) -> None:
        self.module.train()
        order_dev = torch.as_tensor(order, device=self.dev)
        for index in batch_slices(order_dev, self.spec.batch_size):
            self._step(index)

    def train_step(self, index: np.ndarray) -> float:
        self.module.train()
        return float(self._step(torch.as_tensor(index, device=self.dev)).item())

    def warm_up(self) -> None:
        """As the torch loop warms up; the module is back in train mode afterwards, since
        Lightning's epoch goes on from here."""
        x, y = self.data["train"]
        torch_modules.warm_up(self.module, self.module.loss_fn, self.optimizer, x, y, self.spec.batch_size)

    def evaluate(self, split: str) -> tuple[float, float]:
        """Loss and accuracy in eval mode; back in train mode afterwards, since the harness
        evaluates from inside Lightning's loop (the epoch-end callback)."""
        x, y = self.data[split]
        self.module.eval()
        with torch.no_grad():
            logits = self.module(x)
        self.module.train()
        loss = torch.nn.functional.cross_entropy(logits, y)
        acc = (logits.argmax(dim=1) == y).float().mean()
        return float(loss.item()), float(acc.item())

    def predict_batch(self, x: np.ndarray) -> None:
        self.module.eval()
        with torch.no_grad():
            self.module(torch.as_tensor(x, device=self.dev)).cpu()
        self.module.train()

    def get_params(self) -> list[np.ndarray]:
        return read_weights(self.module.net)

    def sync_values(self) -> Sequence[Any]:
        return ()

    def execution(self) -> dict[str, Any]:
        out = super().execution()
        out["trainer"] = {
            **TRAINER_SETTINGS,
            "max_epochs": self.spec.epochs,
            "accelerator": self._accelerator(),
            "devices": 1,
        }
        out["loop"] = "one Trainer.fit over every epoch, automatic optimization"
        out["optimizer_kernel"] = (
            "fused" if self.optimizer.defaults.get("fused") else "default (foreach/for-loop)"
        )
        return out
