"""What Keras' ``model.fit`` needs to meet the harness: a callback that calls the harness's epoch
hooks, a ``PyDataset`` serving the harness's batches (the ``same-batches`` mode), the device scope,
and how Keras runs the training, read back for the record. Adapters, not the Keras user's code:
that is ``impls/keras_fit.py``."""

from __future__ import annotations

import contextlib
import random
from typing import Any

import numpy as np

from harness.plugins.contract import EpochHooks, EpochOrders
from harness.problem.train_spec import batches_of
from tasks.mlp.shared.keras_optimizers import keras


def set_random_seed(seed: int) -> None:
    """``keras.utils.set_random_seed``, less its one side effect off TensorFlow: it seeds TensorFlow
    wherever TensorFlow is installed, importing it, and this benchmark's one environment has it for
    the TensorFlow runs; a Keras-on-JAX or -torch worker then carried TensorFlow (measured on mnist1d:
    peak RSS 961 against 530 MB for keras-jax, 1110 against 675 for keras-torch; its first build 2 s
    longer) that a user of that backend without TensorFlow never pays. Off TensorFlow the rest of what
    it does: Python's and NumPy's generators (Keras shuffles arrays with NumPy's there) and torch's on
    torch; ``Dropout`` layers carry their own seed (``build_model``)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        keras.utils.set_random_seed(seed)
        return
    random.seed(seed)
    np.random.seed(seed)
    if backend == "torch":
        import torch

        torch.manual_seed(seed)


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, orders: EpochOrders) -> Any:
    """A ``PyDataset`` serving epoch ``epoch``'s batches of ``orders(epoch)``; the callback moves
    ``epoch`` forward at each epoch's start (Keras asks for the batches after it)."""

    class HarnessOrder(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = 0
            self.order = orders(0)

        def set_epoch(self, epoch: int) -> None:
            self.epoch, self.order = epoch, orders(epoch)

        def __len__(self) -> int:
            return batches_of(len(y), batch_size)

        def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
            index = self.order[i * batch_size : (i + 1) * batch_size]
            return x[index], y[index]

    return HarnessOrder()


def make_callback(hooks: EpochHooks, dataset: Any | None) -> Any:
    """The ``keras.callbacks.Callback`` that calls the harness's hooks in every epoch. It defines
    no ``on_*_batch_end`` (that would make Keras convert every step's logs on the training
    thread, where by default it hands them to a thread pool): only ``on_train_batch_begin``,
    whose first call of an epoch comes after Keras has made the epoch's data iterator."""

    class Hooks(keras.callbacks.Callback):
        epoch = 0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            if dataset is not None:
                dataset.set_epoch(epoch)
            self.epoch = epoch
            hooks.epoch_start(epoch)

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            if batch == 0:
                hooks.steps_start(self.epoch)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if hooks.epoch_end(epoch):
                self.model.stop_training = True

    return Hooks()


def placement(device: str) -> Any:
    """``keras.device`` of the run's ``device`` (``cpu:0``, ``gpu:0``); on the torch backend
    variables created inside it lose their gradients (Keras 3.15), so there the worker's visible
    devices decide placement: the cpu worker hides CUDA devices and Keras' torch backend defaults to
    cuda when it sees one."""
    if keras.backend.backend() == "torch":
        return contextlib.nullcontext()
    return keras.device("gpu:0" if device == "gpu" else "cpu:0")


def execution_facts(model: Any) -> dict[str, Any]:
    """How Keras runs ``model``'s training, read back from it for the record: the backend, whether
    it compiles with XLA (``jit_compile``) and the steps per execution."""
    return {
        "keras_backend": keras.backend.backend(),
        "jit_compile": bool(getattr(model, "jit_compile", False)),
        "steps_per_execution": int(getattr(model, "steps_per_execution", 1) or 1),
    }
