"""What Lightning's ``Trainer.fit`` needs to meet the harness: a callback that calls the harness's
epoch hooks, a ``DataLoader`` that serves the harness's batches (the same index batches, in the same
order, on the device, as the torch loop's), and a worker's stderr kept for what matters. Adapters,
not the Lightning user's code: that is ``impls/lightning_fit.py``."""

from __future__ import annotations

import logging
import warnings
from typing import Any

from harness.plugins.contract import EpochHooks, EpochOrders, LazyModule
from harness.problem.train_spec import batches_of
from tasks.mlp.common import batch_slices
from tasks.mlp.engines.torch_engine import torch

pl: Any = LazyModule("pytorch_lightning")


def quiet_worker() -> None:
    """Lightning's log lines and the warnings that say nothing about a harness run, off (after
    importing Lightning, which sets its logger to INFO): a worker prints to stderr."""
    # Lightning's info lines (devices found, tips, fit stopped) are noise there.
    for name in ("pytorch_lightning", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # The data is already on the device: loader workers would only add processes and copies.
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    # Lightning 2.6 still builds torch's LeafSpec, which this torch deprecates: a note per fit.
    warnings.filterwarnings("ignore", r".*isinstance\(treespec, LeafSpec\).*", FutureWarning)


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
        return batches_of(len(self.sampler.order), self.batch_size)

    def __iter__(self) -> Any:
        # Moved to the device when the epoch's iteration starts, inside the timed epoch, as
        # the torch loop does in its train_epoch.
        order = torch.as_tensor(self.sampler.order, device=self.device)
        return iter(batch_slices(order, self.batch_size))


def harness_loader(x: Any, y: Any, orders: EpochOrders, batch_size: int, device: Any) -> Any:
    """The ``DataLoader`` of ``Trainer.fit``: :class:`EpochBatches` cuts each epoch's order into
    index batches and :class:`DeviceTensors` gathers each batch from the device tensors ``x``,
    ``y`` at once; no collation, no loader workers."""
    return torch.utils.data.DataLoader(
        DeviceTensors(x, y),
        batch_sampler=EpochBatches(orders, batch_size, device),
        collate_fn=lambda batch: batch,
        num_workers=0,
        # Each epoch's iterator draws a base seed; from its own generator it leaves the global
        # one, which draws the dropout masks, as the torch loop leaves it.
        generator=torch.Generator(),
    )


def back_on_device(module: Any, optimizer: Any, dev: Any) -> None:
    """``fit`` ends by moving the module and optimizer state to the CPU (its strategy's teardown);
    put them back for the evaluation and single steps that follow. ``step`` stays where the
    optimizer keeps it, as Lightning leaves it."""
    module.to(dev)
    for state in optimizer.state.values():
        for key, value in state.items():
            if key != "step" and isinstance(value, torch.Tensor):
                state[key] = value.to(dev)
