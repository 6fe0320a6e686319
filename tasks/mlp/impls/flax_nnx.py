"""Flax NNX, high-level style: an ``nnx.Module`` of ``nnx.Linear`` layers, ``nnx.Optimizer`` and an
``nnx.jit`` train step, as Flax's documentation writes it; ``fast``: its performance guide's loop."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, partial
from typing import Any

import numpy as np

from harness.plugins.contract import LazyModule, Splits, Trainer
from harness.problem.train_spec import TrainSpec
from tasks.mlp.engines.jax_engine import device_of, jax
from tasks.mlp.shared import flax_functional, jax_epochs
from tasks.mlp.shared.optax_optimizers import make_optimizer

nnx: Any = LazyModule("flax.nnx")
optax: Any = LazyModule("optax")


@cache
def mlp_class() -> type:
    """The model's ``nnx.Module`` subclass, defined on first use: flax is imported in the worker only."""

    class MLP(nnx.Module):
        """``Linear -> activation [-> Dropout]`` per hidden layer, then ``Linear`` logits."""

        def __init__(self, spec: TrainSpec, rngs: Any) -> None:
            sizes = spec.layer_sizes()
            self.layers = nnx.List(
                [nnx.Linear(i, o, rngs=rngs) for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
            )
            self.activation = {"relu": nnx.relu, "tanh": nnx.tanh}[spec.activation]
            self.dropout = nnx.Dropout(spec.dropout, rngs=rngs) if spec.dropout else None  # no rng state

        def __call__(self, x: Any) -> Any:
            for layer in self.layers[:-1]:
                x = self.activation(layer(x))
                if self.dropout is not None:
                    x = self.dropout(x)
            return self.layers[-1](x)

    return MLP


def train_step(model: Any, optimizer: Any, x_all: Any, y_all: Any, index: Any) -> Any:
    """One optimizer step on the batch ``index`` of the training split; returns its loss."""
    x, y = x_all[index], y_all[index]

    def loss_fn(model: Any) -> Any:
        return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss


def eval_metrics(model: Any, x: Any, y: Any) -> tuple[Any, Any]:
    """Mean cross-entropy and accuracy of ``model`` on ``(x, y)``."""
    logits = model(x)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return loss, (logits.argmax(axis=1) == y).mean()


class FlaxTrainer(jax_epochs.JaxSteps, Trainer):
    """A stateful NNX model and optimizer; ``default`` mutates them through ``nnx.jit``, ``fast``
    keeps their state as a pytree (``nnx.split`` once) and runs plain ``jax.jit`` functions on it."""

    FRAMEWORK = "flax"
    API = "high-level"
    ENGINES = ("jax",)
    MODULES = ("flax", "optax")
    MODES = {
        "default": "nnx.jit train step on the model and optimizer objects, Python loop over batches",
        "fast": "Flax's performance guide: nnx.split once, jax.jit on the state (nnx.merge inside), "
        "one lax.scan over the epoch's full batches (the short last batch: the jitted step)",
    }
    DATA_PATH = "whole dataset as jax.Arrays on the device; batches gathered by index inside jit"
    COMPILE = {
        "default": "xla (nnx.jit: the model and optimizer graph traversed in Python every call)",
        "fast": "xla (jax.jit on the nnx.split state), lax.scan over the epoch",
    }
    SCAN_MODE = "fast"

    @classmethod
    def prepare(cls, engine: str) -> dict[str, Any]:
        nnx.load()  # imported here, where the worker's import time is measured, not in build
        return super().prepare(engine)

    def build(self, params: list[np.ndarray], data: Splits) -> None:
        self.dev = device_of(self.device)
        put = partial(jax.device_put, device=self.dev)
        model = mlp_class()(self.spec, nnx.Rngs(self.spec.seed))
        flax_functional.load_weights(model.layers, params)
        optimizer = nnx.Optimizer(model, make_optimizer(self.spec), wrt=nnx.Param)
        # every leaf committed to the device, or the second call compiles again (as in jax_jit.py)
        nnx.update((model, optimizer), put(nnx.state((model, optimizer))))
        self.model, self.optimizer = model, optimizer
        self.eval_model = nnx.view(model, deterministic=True, raise_if_not_found=False)  # dropout off
        self.data = self.place(data)
        if self.mode == "fast":  # the state split once; jitted functions take and return it
            self.state, self._train_step, self._train_scan, self._evaluate, self._predict = (
                flax_functional.jitted(model, optimizer, self.eval_model, train_step, eval_metrics)
            )
        else:
            self._train_step = nnx.jit(train_step)
            self._evaluate = nnx.jit(eval_metrics)
            self._predict = nnx.jit(lambda model, x: model(x))

    def _step(self, index: Any) -> Any:
        x, y = self.data["train"]
        if self.mode == "fast":
            self.state, loss = self._train_step(self.state, x, y, index)
            return loss
        return self._train_step(self.model, self.optimizer, x, y, index)

    def _scan_batches(self, batches: Any) -> None:  # one row of indices per full batch
        self.state = self._train_scan(self.state, *self.data["train"], batches)

    def warm_up(self) -> None:  # default: the jitted step, every variable put back (fast: forward)
        flax_functional.warm_up(self) if self.mode != "fast" else super().warm_up()

    def evaluate(self, split: str) -> tuple[float, float]:
        loss, acc = self._evaluate(self._eval_target(), *self.data[split])
        return float(loss), float(acc)

    def predict_batch(self, x: np.ndarray) -> None:
        self._predict(self._eval_target(), jax.device_put(x, self.dev)).block_until_ready()

    def _eval_target(self) -> Any:  # the state pytree (fast), or the model's view (dropout off)
        return self.state if self.mode == "fast" else self.eval_model

    def _weights(self) -> list[Any]:
        if self.mode == "fast":  # the state pytree written back into the model and optimizer
            nnx.update((self.model, self.optimizer), self.state)
        return flax_functional.weights(self.model.layers)

    def get_params(self) -> list[np.ndarray]:
        return [np.asarray(w) for w in self._weights()]

    def sync_values(self) -> Sequence[Any]:
        return jax.tree.leaves(self.state) if self.mode == "fast" else self._weights()
