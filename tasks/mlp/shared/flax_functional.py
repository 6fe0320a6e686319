"""Flax's performance guide, the functional loop (the ``fast`` mode of ``impls/flax_nnx.py``): the
model and optimizer graph traversed once (``nnx.split``), plain ``jax.jit`` functions that take and
return the state pytree (``nnx.merge`` inside), and one ``lax.scan`` over an epoch's batches; and
the harness's weight layout (``[W1 (in, out), b1, ...]``) into and out of ``nnx.Linear`` layers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.plugins.contract import LazyModule
from tasks.mlp.engines.jax_engine import jax
from tasks.mlp.shared import jax_epochs

nnx: Any = LazyModule("flax.nnx")


def jitted(
    model: Any,
    optimizer: Any,
    eval_view: Any,
    train_step: Callable[..., Any],
    eval_metrics: Callable[..., Any],
) -> tuple[Any, Any, Any, Any, Any]:
    """The state pytree of ``(model, optimizer)`` and four jitted functions on it: a step
    ``(state, x, y, index) -> (state, loss)``, a scan over batches ``(state, x, y, batches) ->
    state``, evaluation ``(state, x, y) -> (loss, accuracy)`` and prediction ``(state, x)``, the
    last two through ``eval_view`` (the model's view with dropout off)."""
    graphdef, state = nnx.split((model, optimizer))
    eval_graphdef = nnx.graphdef(eval_view)

    def step(state: Any, x_all: Any, y_all: Any, index: Any) -> tuple[Any, Any]:
        model, optimizer = nnx.merge(graphdef, state)
        loss = train_step(model, optimizer, x_all, y_all, index)
        return nnx.state((model, optimizer)), loss

    @jax.jit
    def train_scan(state: Any, x_all: Any, y_all: Any, batches: Any) -> Any:
        state, _ = jax.lax.scan(lambda s, index: step(s, x_all, y_all, index), state, batches)
        return state

    def eval_model(state: Any) -> Any:
        return nnx.merge(eval_graphdef, state[0])  # state[0]: the model's part of (model, optimizer)

    evaluate = jax.jit(lambda state, x, y: eval_metrics(eval_model(state), x, y))
    predict = jax.jit(lambda state, x: eval_model(state)(x))
    return state, jax.jit(step), train_scan, evaluate, predict


def load_weights(layers: Any, params: list[Any]) -> None:
    """``[W1 (in, out), b1, ...]`` into the ``nnx.Linear`` layers (whose kernel is (in, out) too)."""
    for i, layer in enumerate(layers):
        layer.kernel[...] = params[2 * i]
        layer.bias[...] = params[2 * i + 1]


def weights(layers: Any) -> list[Any]:
    """The ``nnx.Linear`` layers' weights as device arrays, ``[W1, b1, ...]``."""
    return [v[...] for layer in layers for v in (layer.kernel, layer.bias)]


def warm_up(trainer: Any) -> None:
    """``Trainer.warm_up`` of the ``default`` mode: :func:`jax_epochs.warm_up` with its jitted train
    step (which updates the model and optimizer in place) on the first batch, then every variable
    put back, the dropout stream's count included. A forward pass alone left flax's epoch after the
    schedule's pause 1.08x [1.00, 1.16] a bare NNX loop's in the same minutes
    (``benchmarks/bare_loop.py --interleaved``, mnist1d, 2026-12-03)."""
    model, optimizer, (x_all, y_all) = trainer.model, trainer.optimizer, trainer.data["train"]
    # a copy of the state: its Variables are the model's own (a step would update them), their
    # arrays are not (immutable: the copy keeps the values of before)
    saved = jax.tree.map(lambda value: value, nnx.state((model, optimizer)))
    size = min(trainer.spec.batch_size, len(y_all))
    index = jax.device_put(jax.numpy.arange(size, dtype=jax.numpy.int32), x_all.sharding)
    jax_epochs.warm_up(lambda: trainer._train_step(model, optimizer, x_all, y_all, index))
    nnx.update((model, optimizer), saved)
