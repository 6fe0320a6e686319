"""The harness overhead check: each implementation's bare loop vs ``harness run``, same task and spec.

For every implementation this file holds the loop its framework's user would write, with no
harness: the same layer sizes, initial weights and optimizer settings. The low-level loops (torch,
jax, tensorflow, numpy, flax) keep the data on the device and take batches in the harness's
permutation, ``time.perf_counter`` around each epoch with the device synced at its end. The
fit-style ones (Keras on each backend, Lightning) are one ``fit`` as their users call it (Keras'
own shuffling and accuracy metric; Lightning's shuffling ``DataLoader``), timed by a callback from
an epoch's begin to its end (its setup included, no per-batch hook).

Every run is a fresh process with a harness worker's environment (threads, Keras' backend). Per
round and implementation: the bare loop, the bare loop again (its A/A) and one ``harness run``, in
an order rotated every round. The table gives each side's median ms per step (the whole steady
epoch over its steps: what the bare side can time), harness over bare paired per round with its
95% interval beside the bare loop's own A/A, and the harness's headline step time (epoch setup
out). The harness should cost at most 3%:

    PYTHONPATH=. python benchmarks/bare_loop.py --task mnist1d --epochs 20 --repeats 3

Fresh processes minutes apart carry the machine's drift (up to 2.3x on 2026-12-03), which no few
repeats resolve to 3%. ``--interleaved`` puts the harness's run (its worker, driven by the
harness's own group, warm-up and all) and two bare loops, each a process serving one epoch per ask
(a fit-style one paused at its first batch, after its epoch's setup, as the harness pauses its
own), in one group: every round each trains an epoch, in a fresh random order, so each pair is
measured in the same minutes (results: docs/how-it-measures.md, "The harness's own cost"):

    PYTHONPATH=. python benchmarks/bare_loop.py --interleaved --task mnist1d --epochs 40
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script: the repo is not on the path
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

from harness.plan.requests import RunRequest  # noqa: E402
from harness.problem.train_spec import ADAM_BETAS, ADAM_EPSILON, TrainSpec  # noqa: E402
from tasks.datasets import Splits  # noqa: E402
from tasks.mlp.task import MlpTasks  # noqa: E402

TARGET_RATIO = 1.03
THREADS = 2  # the harness's default on this project's machines
# A bare loop: one epoch over the batches of a given order, and the device sync.
Loop = tuple[Callable[[np.ndarray], None], Callable[[], object]]


def _bare_torch(spec: TrainSpec, data: Splits) -> Loop:
    import torch

    model = _torch_sequential(spec)
    opt = torch.optim.AdamW(
        model.parameters(), lr=spec.learning_rate, betas=ADAM_BETAS, eps=ADAM_EPSILON, weight_decay=0.0
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)

    def epoch(order: np.ndarray) -> None:
        perm = torch.as_tensor(order)
        for i in range(0, len(perm), spec.batch_size):
            index = perm[i : i + spec.batch_size]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[index]), y[index]).backward()
            opt.step()

    return epoch, lambda: None


def _bare_jax(spec: TrainSpec, data: Splits) -> Loop:
    import jax
    import optax

    jax.config.update("jax_default_matmul_precision", "highest")
    params = [jax.device_put(p) for p in MlpTasks.init_params(spec)]
    b1, b2 = ADAM_BETAS
    tx = optax.adamw(spec.learning_rate, b1, b2, ADAM_EPSILON, weight_decay=0.0)
    state = {"params": params, "opt": tx.init(params)}

    def loss_fn(params: list, x: jax.Array, y: jax.Array) -> jax.Array:
        for w, b in zip(params[:-2:2], params[1:-2:2], strict=True):
            x = jax.nn.relu(x @ w + b)
        logits = x @ params[-2] + params[-1]
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @jax.jit
    def step(params: list, opt_state: object, x_all: jax.Array, y_all: jax.Array, index: jax.Array) -> tuple:
        grads = jax.grad(loss_fn)(params, x_all[index], y_all[index])
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    x, y = jax.device_put(data.x_train), jax.device_put(data.y_train)

    def epoch(order: np.ndarray) -> None:
        perm = jax.device_put(order.astype(np.int32))
        for i in range(0, len(order), spec.batch_size):
            state["params"], state["opt"] = step(
                state["params"], state["opt"], x, y, perm[i : i + spec.batch_size]
            )

    return epoch, lambda: jax.block_until_ready(state["params"])


def _bare_tensorflow(spec: TrainSpec, data: Splits) -> Loop:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    b1, b2 = ADAM_BETAS
    with tf.device("/CPU:0"):
        weights = [tf.Variable(p) for p in MlpTasks.init_params(spec)]
        opt = tf.keras.optimizers.Adam(spec.learning_rate, beta_1=b1, beta_2=b2, epsilon=ADAM_EPSILON)
        x, y = tf.constant(data.x_train), tf.constant(data.y_train)
    loss_obj = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(x_all: tf.Tensor, y_all: tf.Tensor, index: tf.Tensor) -> None:
        h = tf.gather(x_all, index)
        with tf.GradientTape() as tape:
            for w, b in zip(weights[:-2:2], weights[1:-2:2], strict=True):
                h = tf.nn.relu(tf.matmul(h, w) + b)
            loss = loss_obj(tf.gather(y_all, index), tf.matmul(h, weights[-2]) + weights[-1])
        opt.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))

    def epoch(order: np.ndarray) -> None:
        with tf.device("/CPU:0"):
            perm = tf.constant(order)
            for i in range(0, len(order), spec.batch_size):
                step(x, y, perm[i : i + spec.batch_size])

    return epoch, lambda: weights[-1].numpy()


def _bare_numpy(spec: TrainSpec, data: Splits) -> Loop:
    """The chapter's by-hand loop: forward, backward and Adam written out, float32."""
    params = [np.asarray(p, dtype=np.float32) for p in MlpTasks.init_params(spec)]
    m, v = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    b1, b2 = ADAM_BETAS
    lr, t = np.float32(spec.learning_rate), [0]

    def step(x: np.ndarray, y: np.ndarray) -> None:
        acts = [x]
        for w, b in zip(params[:-2:2], params[1:-2:2], strict=True):
            acts.append(np.maximum(acts[-1] @ w + b, 0.0))
        logits = acts[-1] @ params[-2] + params[-1]
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(y)), y] -= 1.0
        delta, grads = p / np.float32(len(y)), []
        for layer in range(len(params) // 2 - 1, -1, -1):
            grads = [acts[layer].T @ delta, delta.sum(axis=0), *grads]
            if layer:
                delta = (delta @ params[2 * layer].T) * (acts[layer] > 0)
        t[0] += 1
        for p_, g, m_, v_ in zip(params, grads, m, v, strict=True):
            m_ *= b1
            m_ += (1 - b1) * g
            v_ *= b2
            v_ += (1 - b2) * g * g
            p_ -= lr * (m_ / (1 - b1 ** t[0])) / (np.sqrt(v_ / (1 - b2 ** t[0])) + ADAM_EPSILON)

    def epoch(order: np.ndarray) -> None:
        for i in range(0, len(order), spec.batch_size):
            index = order[i : i + spec.batch_size]
            step(data.x_train[index], data.y_train[index])

    return epoch, lambda: None


def _bare_flax(spec: TrainSpec, data: Splits) -> Loop:
    """Flax NNX as its documentation writes it: an ``nnx.Module``, ``nnx.Optimizer``, ``nnx.jit``."""
    import jax
    import optax
    from flax import nnx

    jax.config.update("jax_default_matmul_precision", "highest")
    sizes, params = spec.layer_sizes(), MlpTasks.init_params(spec)

    class MLP(nnx.Module):
        def __init__(self, rngs: nnx.Rngs) -> None:
            self.layers = nnx.List(
                [nnx.Linear(i, o, rngs=rngs) for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
            )

        def __call__(self, x: jax.Array) -> jax.Array:
            for layer in self.layers[:-1]:
                x = nnx.relu(layer(x))
            return self.layers[-1](x)

    model = MLP(nnx.Rngs(spec.seed))
    for layer, w, b in zip(model.layers, params[::2], params[1::2], strict=True):
        layer.kernel.value, layer.bias.value = jax.numpy.asarray(w), jax.numpy.asarray(b)
    b1, b2 = ADAM_BETAS
    optimizer = nnx.Optimizer(
        model, optax.adamw(spec.learning_rate, b1, b2, ADAM_EPSILON, weight_decay=0.0), wrt=nnx.Param
    )

    @nnx.jit
    def step(
        model: MLP, optimizer: nnx.Optimizer, x_all: jax.Array, y_all: jax.Array, index: jax.Array
    ) -> None:
        x, y = x_all[index], y_all[index]

        def loss_fn(model: MLP) -> jax.Array:
            return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()

        optimizer.update(model, nnx.grad(loss_fn)(model))

    x, y = jax.device_put(data.x_train), jax.device_put(data.y_train)

    def epoch(order: np.ndarray) -> None:
        perm = jax.device_put(order.astype(np.int32))
        for i in range(0, len(order), spec.batch_size):
            step(model, optimizer, x, y, perm[i : i + spec.batch_size])

    return epoch, lambda: jax.block_until_ready(nnx.state(model))


def _torch_sequential(spec: TrainSpec) -> object:
    """torch's ``nn.Sequential`` of the spec's layers, holding the shared initial weights."""
    import torch

    sizes, params = spec.layer_sizes(), MlpTasks.init_params(spec)
    layers: list[torch.nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    with torch.no_grad():
        linears = [m for m in model if isinstance(m, torch.nn.Linear)]
        for layer, w, b in zip(linears, params[::2], params[1::2], strict=True):
            layer.weight.copy_(torch.as_tensor(w.T))
            layer.bias.copy_(torch.as_tensor(b))
    return model


# Fit-style loops own their epochs: each returns the seconds of every epoch, as a user times them
# (a callback's epoch begin to its end: the epoch's setup included, no per-batch hook).
FitLoop = Callable[..., list[float]]


class Served:
    """A fit loop served one epoch per line read (``--interleaved``): after each epoch's own setup,
    at its first batch, it answers the epoch before (its seconds: setup and steps) and waits for the
    next line, as the harness pauses its fit-style runs (``EpochHooks.steps_start``); the last
    epoch answers when it ends."""

    def __init__(self, epochs: int) -> None:
        self.epochs, self.pending, self.setup_s, self.first = epochs, None, 0.0, 0.0

    def begin(self) -> None:
        self.begun = time.perf_counter()

    def first_batch(self) -> None:
        self.setup_s = time.perf_counter() - self.begun
        if self.pending is not None:
            print(self.pending, flush=True)
        sys.stdin.readline()
        self.first = time.perf_counter()

    def end(self, epoch: int) -> None:
        self.pending = self.setup_s + time.perf_counter() - self.first
        if epoch == self.epochs - 1:
            print(self.pending, flush=True)


def keras_model(spec: TrainSpec) -> object:
    """The Keras user's model (the backend from ``KERAS_BACKEND``): ``Sequential`` of ``Dense``
    layers holding the shared initial weights, compiled with Adam and the accuracy metric."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    layers = [keras.layers.Dense(w, activation="relu") for w in spec.hidden]
    model = keras.Sequential([keras.Input((spec.n_features,)), *layers, keras.layers.Dense(spec.n_classes)])
    model.set_weights(MlpTasks.init_params(spec))
    b1, b2 = ADAM_BETAS
    model.compile(
        optimizer=keras.optimizers.Adam(spec.learning_rate, beta_1=b1, beta_2=b2, epsilon=ADAM_EPSILON),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _fit_keras(spec: TrainSpec, data: Splits, served: Served | None = None) -> list[float]:
    """Keras as its users write it (the backend from ``KERAS_BACKEND``): ``Sequential``, ``compile``
    with the accuracy metric, one ``fit`` with Keras' own shuffling; ``served``: one epoch per ask."""
    import keras

    model = keras_model(spec)
    seconds: list[float] = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: object = None) -> None:
            seconds.append(time.perf_counter() - self.start)

    class ServedTimer(keras.callbacks.Callback):  # a batch hook only when served: Keras calls it per batch
        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            served.begin()

        def on_train_batch_begin(self, batch: int, logs: object = None) -> None:
            if batch == 0:
                served.first_batch()

        def on_epoch_end(self, epoch: int, logs: object = None) -> None:
            served.end(epoch)

    model.fit(
        data.x_train, data.y_train, batch_size=spec.batch_size, epochs=spec.epochs, shuffle=True,
        callbacks=[ServedTimer() if served else EpochTimer()], verbose=0,
    )  # fmt: skip
    return seconds


def _fit_lightning(spec: TrainSpec, data: Splits, served: Served | None = None) -> list[float]:
    """Lightning as its users write it: a ``LightningModule``, a shuffling ``DataLoader`` over a
    ``TensorDataset``, one ``Trainer.fit`` with the settings users set for speed."""
    import logging

    import pytorch_lightning as pl
    import torch

    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    b1, b2 = ADAM_BETAS

    class Module(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net, self.loss_fn = _torch_sequential(spec), torch.nn.CrossEntropyLoss()

        def training_step(self, batch: tuple, batch_idx: int) -> torch.Tensor:
            x, y = batch
            return self.loss_fn(self.net(x), y)

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.AdamW(self.parameters(), spec.learning_rate, (b1, b2), ADAM_EPSILON, 0.0)

    seconds: list[float] = []

    class EpochTimer(pl.Callback):
        def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
            self.start = time.perf_counter()

        def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
            seconds.append(time.perf_counter() - self.start)

    class ServedTimer(pl.Callback):
        def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
            served.begin()

        def on_train_batch_start(
            self, trainer: pl.Trainer, module: object, batch: object, index: int
        ) -> None:
            if index == 0:
                served.first_batch()

        def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
            served.end(trainer.current_epoch)

    dataset = torch.utils.data.TensorDataset(torch.as_tensor(data.x_train), torch.as_tensor(data.y_train))
    loader = torch.utils.data.DataLoader(dataset, batch_size=spec.batch_size, shuffle=True)
    trainer = pl.Trainer(
        max_epochs=spec.epochs, accelerator="cpu", devices=1, logger=False,
        callbacks=[ServedTimer() if served else EpochTimer()],
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        num_sanity_val_steps=0,
    )  # fmt: skip
    trainer.fit(Module(), loader)
    return seconds


BARE: dict[str, Callable[[TrainSpec, Splits], Loop]] = {
    "torch": _bare_torch,
    "jax": _bare_jax,
    "tensorflow": _bare_tensorflow,
    "numpy": _bare_numpy,
    "flax": _bare_flax,
}
FIT: dict[str, FitLoop] = {
    "keras": _fit_keras,
    "keras-jax": _fit_keras,
    "keras-torch": _fit_keras,
    "lightning": _fit_lightning,
}
KERAS_BACKEND = {"keras": "tensorflow", "keras-jax": "jax", "keras-torch": "torch"}
IMPLS = (*BARE, *FIT)


def time_epochs(spec: TrainSpec, n_train: int, loop: Loop) -> list[float]:
    """Seconds of each epoch after the first (which compiles), each ended by the loop's sync."""
    epoch, sync = loop
    seconds = []
    for index in range(spec.epochs):
        order = MlpTasks.batch_order(spec, index, n_train)
        start = time.perf_counter()
        epoch(order)
        sync()
        seconds.append(time.perf_counter() - start)
    return seconds[1:]


def _check_spec(spec: TrainSpec) -> None:
    """The bare loops hard-code what every shipped task uses; refuse a spec they would not honour."""
    plain = spec.activation == "relu" and spec.optimizer == "adam" and not (spec.dropout or spec.weight_decay)
    if not plain or spec.train_fraction < 1.0 or spec.label_noise:
        raise SystemExit(f"bare loops implement relu + adam, no dropout, decay or data changes; got {spec}")


def run_bare_child(impl: str, task: str, epochs: int) -> None:
    """In this process: one bare run; print ``{"epoch_s": [...], "steps_per_epoch": n}`` (epochs
    2..E: the first compiles)."""
    spec = MlpTasks.make_spec(task, epochs=epochs)
    _check_spec(spec)
    data = MlpTasks.load_data(spec)
    if impl in FIT:
        epoch_s = FIT[impl](spec, data)[1:]
    else:
        epoch_s = time_epochs(spec, len(data.y_train), BARE[impl](spec, data))
    print(json.dumps({"epoch_s": epoch_s, "steps_per_epoch": spec.steps_per_epoch(len(data.y_train))}))


def serve_bare_child(impl: str, task: str, epochs: int) -> None:
    """In this process: a bare loop trained one epoch per line read (the epoch's index), answering
    each with its seconds; ``ready`` once built (low-level: and its first epoch, which compiles,
    done; fit-style: its first epoch is the first asked for)."""
    spec = MlpTasks.make_spec(task, epochs=epochs)
    _check_spec(spec)
    data = MlpTasks.load_data(spec)
    n_train = len(data.y_train)
    if impl in FIT:
        print(f"ready {spec.steps_per_epoch(n_train)}", flush=True)
        FIT[impl](spec, data, Served(epochs))
        return
    epoch, sync = BARE[impl](spec, data)
    epoch(MlpTasks.batch_order(spec, 0, n_train))
    sync()
    print(f"ready {spec.steps_per_epoch(n_train)}", flush=True)
    for line in sys.stdin:
        order = MlpTasks.batch_order(spec, int(line), n_train)
        start = time.perf_counter()
        epoch(order)
        sync()
        print(time.perf_counter() - start, flush=True)


class BareWorker:
    """A bare loop in a process of its own, a harness worker's environment, one epoch per ask."""

    def __init__(self, impl: str, task: str, epochs: int) -> None:
        from harness.plugins import registry
        from harness.run.worker_client import worker_env

        env = worker_env(registry.get(impl).engine, impl, "cpu", THREADS)
        cmd = [sys.executable, __file__, "--serve", impl, "--task", task, "--epochs", str(epochs)]
        self.process = subprocess.Popen(
            cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None and self.process.stdin is not None
        line = self.process.stdout.readline().split()
        if not line or line[0] != "ready":
            raise RuntimeError(f"bare {impl} on {task} did not start (exit {self.process.wait()})")
        self.steps = int(line[1])

    def epoch(self, index: int) -> float:
        """Seconds per step of epoch ``index``, trained now."""
        self.process.stdin.write(f"{index}\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline()) / self.steps

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def interleaved(impl: str, task: str, epochs: int, seed: int = 0) -> Samples:
    """One harness run (its worker, driven by the harness's own group, warm-up included) and two
    bare loops, each in its own process, interleaved: every round each trains one epoch, in a fresh
    random order, as a group's runs do. Per round, seconds per step (the whole epoch: the harness's
    setup included); rounds 1.. (round 0 compiles). Before a bare epoch the parent waits, as the
    harness does before its own, for the other processes to leave the CPU."""
    import random

    from harness.record.derived import round_steps_s
    from harness.run.schedule import Group, Pool
    from harness.run.timing import wait_for_quiet

    rng = random.Random(seed)
    request = RunRequest(task=task, impl=impl, overrides={"epochs": epochs}, step_samples=0, eval_repeats=1)
    pool = Pool(THREADS)
    bares = [BareWorker(impl, task, epochs), BareWorker(impl, task, epochs)]
    bare_s: list[dict[int, float]] = [{}, {}]
    try:
        group = Group([request], pool, "interleaved", rng)
        group.begin()
        for index in range(epochs):
            sides = ["harness", 0, 1]
            rng.shuffle(sides)
            for side in sides:
                if side == "harness":
                    group.advance(0)
                elif index:
                    wait_for_quiet()  # as the harness waits before each of its runs' rounds
                    bare_s[side][index] = bares[side].epoch(index)
                else:
                    bares[side].epoch(index)  # the harness's round 0 is its compiling first epoch
        (record,) = group.end()
    finally:
        pool.close()
        for bare in bares:
            bare.close()
    if record.status != "ok":
        raise RuntimeError(f"harness run of {impl} on {task} ended {record.status}: {record.reason}")
    harness = round_steps_s(record)  # steady epochs less their setup, keyed by round
    whole = {
        k: e / record.steps_per_epoch
        for k, e in zip(record.timings.epoch_rounds[1:], record.timings.epoch_s, strict=True)
    }
    rounds = sorted(set(harness) & set(bare_s[0]) & set(bare_s[1]) & set(whole))
    return Samples(
        bare=[bare_s[0][k] for k in rounds],
        bare_again=[bare_s[1][k] for k in rounds],
        harness=[whole[k] for k in rounds],
        headline=[harness[k] for k in rounds],
    )


def bare_step_s(impl: str, task: str, epochs: int) -> float:
    """Median steady-state seconds per step of one bare run (its whole epoch over its steps), in a
    fresh process with a harness worker's environment (threads, Keras' backend): what differs from
    the harness side is the harness's own code."""
    from harness.plugins import registry
    from harness.run.worker_client import worker_env

    env = worker_env(registry.get(impl).engine, impl, "cpu", THREADS)
    cmd = [sys.executable, __file__, "--bare", impl, "--task", task, "--epochs", str(epochs)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"bare {impl} on {task} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return statistics.median(result["epoch_s"]) / result["steps_per_epoch"]


def harness_step_s(impl: str, task: str, epochs: int, results_dir: Path) -> tuple[float, float]:
    """One ``harness run`` (a worker process) from its record: the median steady epoch, whole (its
    setup included, as the bare side times it), and the headline step time (setup out), per step."""
    from harness.plan.requests import Plan
    from harness.record.derived import steady_epochs_s, step_time_s
    from harness.run import runner

    plan = Plan(
        "overhead",
        [RunRequest(task=task, impl=impl, overrides={"epochs": epochs})],
        threads=THREADS,
        calibrate=False,
    )
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        outcome = runner.run_plan(plan, results_dir)
    record = outcome.records[0]
    if record.status != "ok":
        raise RuntimeError(f"harness run of {impl} on {task} ended {record.status}: {record.reason}")
    return statistics.median(steady_epochs_s(record)) / record.steps_per_epoch, step_time_s(record)


@dataclass
class Samples:
    """Per round, seconds per step: the bare loop twice (its A/A) and the harness (whole epoch and
    headline step)."""

    bare: list[float] = field(default_factory=list)
    bare_again: list[float] = field(default_factory=list)
    harness: list[float] = field(default_factory=list)
    headline: list[float] = field(default_factory=list)


def compare(impls: list[str], task: str, epochs: int, repeats: int) -> dict[str, Samples]:
    """``repeats`` rounds; in each, per implementation, the bare loop, the bare loop again and the
    harness run, each a fresh process, in an order rotated every round (each side in each place)."""
    samples = {i: Samples() for i in impls}
    sides = ["bare", "bare_again", "harness"]
    with tempfile.TemporaryDirectory(prefix="overhead-") as tmp:
        for round_index in range(repeats):
            for impl in impls:
                turn = round_index % len(sides)
                for side in sides[turn:] + sides[:turn]:
                    if side == "harness":
                        whole, headline = harness_step_s(impl, task, epochs, Path(tmp))
                        samples[impl].harness.append(whole)
                        samples[impl].headline.append(headline)
                    else:
                        whole = bare_step_s(impl, task, epochs)
                        getattr(samples[impl], side).append(whole)
                    print(
                        f"round {round_index + 1}/{repeats} {impl:<11} {side:<10} {whole * 1e3:8.3f} ms/step",
                        flush=True,
                    )
    return samples


def paired(num: list[float], den: list[float]) -> tuple[float, float, float]:
    """Geometric mean of the paired ratios with its 95% t interval (NaN bounds for one pair)."""
    logs = np.log(np.asarray(num)) - np.log(np.asarray(den))
    mean = float(logs.mean())
    if len(logs) < 2:
        return float(np.exp(mean)), float("nan"), float("nan")
    from scipy import stats

    half = float(stats.t.ppf(0.975, len(logs) - 1) * logs.std(ddof=1) / np.sqrt(len(logs)))
    return float(np.exp(mean)), float(np.exp(mean - half)), float(np.exp(mean + half))


def table(task: str, samples: dict[str, Samples]) -> str:
    """One row per implementation: bare and harness ms per step (medians over rounds), harness over
    bare paired per round, the bare loop's A/A, and the verdict against the 3% target."""
    head = f"{'impl':<11} {'bare ms':>8} {'harness ms':>10} {'harness/bare':>22} {'bare A/A':>22} "
    head += f"{'headline ms':>11}  verdict"
    lines = [
        f"task={task}, {len(next(iter(samples.values())).bare)} rounds, ms per step (whole epoch / steps)",
        head,
    ]
    for impl, s in samples.items():
        ratio, lo, hi = paired(s.harness, s.bare)
        aa, aa_lo, aa_hi = paired(s.bare_again, s.bare)
        verdict = "ok" if ratio <= TARGET_RATIO else f"harness > {TARGET_RATIO:.2f}x bare"
        lines.append(
            f"{impl:<11} {statistics.median(s.bare) * 1e3:8.3f} {statistics.median(s.harness) * 1e3:10.3f} "
            f"{ratio:8.3f} [{lo:5.3f}, {hi:5.3f}] {aa:8.3f} [{aa_lo:5.3f}, {aa_hi:5.3f}] "
            f"{statistics.median(s.headline) * 1e3:11.3f}  {verdict}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Compare, print the table (and write it as JSON with ``--json``); exit 1 when some
    implementation is over the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="mnist1d", choices=MlpTasks.TASKS)
    parser.add_argument("--impl", nargs="+", choices=IMPLS, help="default: every one")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per run (the first is not timed)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of bare, bare again and harness")
    parser.add_argument("--json", type=Path, help="write every sample here")
    parser.add_argument(
        "--interleaved",
        action="store_true",
        help="the harness's run and two bare loops interleaved epoch by epoch in one group (the "
        "fit-style ones paused at their first batch, as the harness pauses its own): paired per "
        "round, in the same minutes; --repeats is ignored",
    )
    parser.add_argument("--bare", choices=IMPLS, help=argparse.SUPPRESS)  # child process mode
    parser.add_argument("--serve", choices=IMPLS, help=argparse.SUPPRESS)  # child, epoch by epoch
    args = parser.parse_args(argv)
    if args.bare:
        run_bare_child(args.bare, args.task, args.epochs)
        return 0
    if args.serve:
        serve_bare_child(args.serve, args.task, args.epochs)
        return 0
    if args.impl is None:
        args.impl = list(IMPLS)
    if args.interleaved:
        samples = {impl: interleaved(impl, args.task, args.epochs) for impl in args.impl}
    else:
        samples = compare(args.impl, args.task, args.epochs, args.repeats)
    print(table(args.task, samples))
    if args.json:
        args.json.write_text(json.dumps({i: asdict(s) for i, s in samples.items()}, indent=1))
    return 0 if all(paired(s.harness, s.bare)[0] <= TARGET_RATIO for s in samples.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
