"""JAX, low-level style: a pytree of parameters, ``jax.grad`` and a ``jax.jit`` train step with optax."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from harness.plugins.contract import LazyModule, Splits, Trainer
from harness.problem.train_spec import TrainSpec
from tasks.mlp.engines.jax_engine import device_of, jax, jnp
from tasks.mlp.shared import jax_epochs
from tasks.mlp.shared.optax_optimizers import make_optimizer

optax: Any = LazyModule("optax")


def forward(spec: TrainSpec, params: list[Any], x: Any, key: Any | None) -> Any:
    """Logits of ``x``; ``key`` given means training, with inverted dropout after each hidden layer."""
    act = {"relu": jax.nn.relu, "tanh": jnp.tanh}[spec.activation]
    n_layers = len(params) // 2
    for i in range(n_layers):
        x = x @ params[2 * i] + params[2 * i + 1]
        if i < n_layers - 1:
            x = act(x)
            if key is not None and spec.dropout:
                key, sub = jax.random.split(key)
                keep = jax.random.bernoulli(sub, 1.0 - spec.dropout, x.shape)
                x = jnp.where(keep, x / (1.0 - spec.dropout), 0.0)
    return x


def loss_fn(spec: TrainSpec, params: list[Any], x: Any, y: Any, key: Any | None) -> Any:
    """Mean softmax cross-entropy over the batch."""
    logits = forward(spec, params, x, key)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


class JaxTrainer(jax_epochs.JaxSteps, Trainer):
    """Parameters as a list of ``jax.Array``; one jitted function does gather, grad and update."""

    FRAMEWORK = "jax"
    API = "low-level"
    ENGINES = ("jax",)
    MODULES = ("optax",)
    MODES = {
        "default": "jax.jit train step, Python loop over batches",
        "scan": "one jitted lax.scan over the epoch's full batches (the short last batch: the jitted step)",
    }
    DATA_PATH = "whole dataset as jax.Arrays on the device; batches gathered by index inside jit"
    COMPILE = {"default": "xla (jax.jit)", "scan": "xla (jax.jit), lax.scan over the epoch"}
    SCAN_MODE = "scan"

    def build(self, params: list[np.ndarray], data: Splits) -> None:
        self.dev = device_of(self.device)
        put = partial(jax.device_put, device=self.dev)
        self.params = [put(p) for p in params]
        self.tx = make_optimizer(self.spec)
        # Committed to the device like the parameters: an uncommitted leaf (optax's step count)
        # would make the second call compile again, its inputs' placement differing from the first's.
        self.opt_state = put(self.tx.init(self.params))
        self.data = self.place(data)
        self.warm_up_index = put(np.arange(min(self.spec.batch_size, len(data.y_train)), dtype=np.int32))
        self.key = put(jax.random.key(self.spec.seed))
        self.step_count = 0
        spec, tx = self.spec, self.tx

        def update(params, opt_state, key, x_all, y_all, index):
            x, y = x_all[index], y_all[index]
            loss, grads = jax.value_and_grad(partial(loss_fn, spec))(params, x, y, key)
            updates, opt_state = tx.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, loss

        @jax.jit
        def train_scan(params, opt_state, key, step0, x_all, y_all, batches):
            def body(carry, index):
                params, opt_state, step = carry
                step_key = jax.random.fold_in(key, step) if spec.dropout else key
                params, opt_state, loss = update(params, opt_state, step_key, x_all, y_all, index)
                return (params, opt_state, step + 1), loss

            (params, opt_state, _), _ = jax.lax.scan(body, (params, opt_state, step0), batches)
            return params, opt_state

        train_step = jax.jit(update)
        self._train_scan = train_scan

        @jax.jit
        def evaluate(params, x, y):
            logits = forward(spec, params, x, None)
            loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
            return loss, (logits.argmax(axis=1) == y).mean()

        self._train_step = train_step
        self._evaluate = evaluate
        self._predict = jax.jit(lambda params, x: forward(spec, params, x, None))

    def _step(self, index: Any) -> Any:
        # Without dropout the compiled step never reads its key: the per-batch fold_in (an eager
        # dispatch) is skipped, it cost ~30% of a digits step on CPU (benchmarks/bare_loop.py).
        key = jax.random.fold_in(self.key, self.step_count) if self.spec.dropout else self.key
        self.step_count += 1
        x, y = self.data["train"]
        self.params, self.opt_state, loss = self._train_step(self.params, self.opt_state, key, x, y, index)
        return loss

    def _scan_batches(self, batches: Any) -> None:
        """One compiled ``lax.scan`` over ``batches`` (one full batch of indices per row)."""
        x, y = self.data["train"]
        self.params, self.opt_state = self._train_scan(
            self.params, self.opt_state, self.key, self.step_count, x, y, batches
        )
        self.step_count += batches.shape[0]

    def warm_up(self) -> None:
        """:func:`jax_epochs.warm_up` on the current state, its results thrown away: JAX is
        functional, so the model and the step count stay as they were."""
        x, y = self.data["train"]
        jax_epochs.warm_up(
            partial(self._train_step, self.params, self.opt_state, self.key, x, y, self.warm_up_index)
        )

    def evaluate(self, split: str) -> tuple[float, float]:
        loss, acc = self._evaluate(self.params, *self.data[split])
        return float(loss), float(acc)

    def predict_batch(self, x: np.ndarray) -> None:
        self._predict(self.params, jax.device_put(x, self.dev)).block_until_ready()

    def get_params(self) -> list[np.ndarray]:
        return [np.asarray(p) for p in self.params]

    def sync_values(self) -> Sequence[Any]:
        return self.params
