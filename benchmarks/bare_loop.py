"""The harness overhead check: bare training loops vs ``harness run`` on the same task and spec.

For torch, jax and tensorflow this file holds the minimal loop a user would write (no harness
``Trainer``): the same layer sizes, initial weights and optimizer settings, the data on the
device, batches in the same permutation, ``time.perf_counter`` around each epoch with the device
synced at its end. Each bare loop runs in its own process; so does each harness run (its worker).
Both sides alternate ``--repeats`` times and the table compares medians of the steady-state
epochs (2..E) per step. The harness should cost at most 3%:

    PYTHONPATH=. python benchmarks/bare_loop.py --task digits --epochs 30 --repeats 3
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
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script: the repo is not on the path
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

from harness.plan.requests import RunRequest  # noqa: E402
from harness.problem.train_spec import ADAM_BETAS, ADAM_EPSILON, TrainSpec  # noqa: E402
from tasks.datasets import Splits  # noqa: E402
from tasks.mlp import problem  # noqa: E402

IMPLS = ("torch", "jax", "tensorflow")
TARGET_RATIO = 1.03
# A bare loop: one epoch over the batches of a given order, and the device sync.
Loop = tuple[Callable[[np.ndarray], None], Callable[[], object]]


def _bare_torch(spec: TrainSpec, data: Splits) -> Loop:
    import torch

    sizes, params = spec.layer_sizes(), problem.init_params(spec)
    layers: list[torch.nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    with torch.no_grad():
        linears = [m for m in model if isinstance(m, torch.nn.Linear)]
        for layer, w, b in zip(linears, params[::2], params[1::2], strict=True):
            layer.weight.copy_(torch.as_tensor(w.T))
            layer.bias.copy_(torch.as_tensor(b))
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
    params = [jax.device_put(p) for p in problem.init_params(spec)]
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
        weights = [tf.Variable(p) for p in problem.init_params(spec)]
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


BARE: dict[str, Callable[[TrainSpec, Splits], Loop]] = {
    "torch": _bare_torch,
    "jax": _bare_jax,
    "tensorflow": _bare_tensorflow,
}


def time_epochs(spec: TrainSpec, n_train: int, loop: Loop) -> list[float]:
    """Seconds of each epoch after the first (which compiles), each ended by the loop's sync."""
    epoch, sync = loop
    seconds = []
    for index in range(spec.epochs):
        order = problem.batch_order(spec, index, n_train)
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
    """In this process: one bare run; print ``{"epoch_s": [...], "steps_per_epoch": n}``."""
    spec = problem.make_spec(task, epochs=epochs)
    _check_spec(spec)
    data = problem.load_data(spec)
    epoch_s = time_epochs(spec, len(data.y_train), BARE[impl](spec, data))
    steps = spec.steps_per_epoch(len(data.y_train))
    print(json.dumps({"epoch_s": epoch_s, "steps_per_epoch": steps}))


def bare_step_s(impl: str, task: str, epochs: int) -> float:
    """Median steady-state seconds per step of one bare run, in a fresh process."""
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    cmd = [sys.executable, __file__, "--bare", impl, "--task", task, "--epochs", str(epochs)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return statistics.median(result["epoch_s"]) / result["steps_per_epoch"]


def harness_step_s(impl: str, task: str, epochs: int, results_dir: Path) -> float:
    """Median steady-state seconds per step of one ``harness run`` (a worker process), from its record."""
    from harness.plan.requests import Plan
    from harness.record.derived import step_time_s
    from harness.run import runner

    plan = Plan("overhead", [RunRequest(task=task, impl=impl, overrides={"epochs": epochs})])
    with contextlib.redirect_stdout(io.StringIO()):
        outcome = runner.run_plan(plan, results_dir)
    record = outcome.records[0]
    if record.status != "ok":
        raise RuntimeError(f"harness run of {impl} on {task} ended {record.status}: {record.reason}")
    return step_time_s(record)


def compare(impls: list[str], task: str, epochs: int, repeats: int) -> dict[str, tuple[float, float]]:
    """``repeats`` rounds alternating bare and harness (order flipped each round) per impl;
    returns impl -> (median bare step s, median harness step s)."""
    samples: dict[str, dict[str, list[float]]] = {i: {"bare": [], "harness": []} for i in impls}
    with tempfile.TemporaryDirectory(prefix="overhead-") as tmp:
        for round_index in range(repeats):
            for impl in impls:
                sides = ["bare", "harness"] if round_index % 2 == 0 else ["harness", "bare"]
                for side in sides:
                    step_s = (
                        bare_step_s(impl, task, epochs)
                        if side == "bare"
                        else harness_step_s(impl, task, epochs, Path(tmp))
                    )
                    samples[impl][side].append(step_s)
                    print(
                        f"round {round_index + 1}/{repeats} {impl:<10} {side:<7} {step_s * 1e3:8.3f} ms/step"
                    )
    return {i: (statistics.median(s["bare"]), statistics.median(s["harness"])) for i, s in samples.items()}


def table(task: str, medians: dict[str, tuple[float, float]]) -> str:
    """The result table, one row per impl, with the verdict against the 3% target."""
    lines = [f"task={task}", f"{'impl':<11} {'bare ms':>9} {'harness ms':>11} {'ratio':>7}  verdict"]
    for impl, (bare, harness) in medians.items():
        ratio = harness / bare
        verdict = "ok" if ratio <= TARGET_RATIO else f"harness > {TARGET_RATIO:.2f}x bare"
        lines.append(f"{impl:<11} {bare * 1e3:9.3f} {harness * 1e3:11.3f} {ratio:7.3f}  {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Compare, print the table; exit 1 when some implementation is over the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="digits", choices=problem.TASKS)
    parser.add_argument("--impl", nargs="+", default=list(IMPLS), choices=IMPLS)
    parser.add_argument("--epochs", type=int, default=30, help="epochs per run (the first is not timed)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds of bare and harness")
    parser.add_argument("--bare", choices=IMPLS, help=argparse.SUPPRESS)  # child process mode
    args = parser.parse_args(argv)
    if args.bare:
        run_bare_child(args.bare, args.task, args.epochs)
        return 0
    medians = compare(args.impl, args.task, args.epochs, args.repeats)
    print(table(args.task, medians))
    return 0 if all(h / b <= TARGET_RATIO for b, h in medians.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
