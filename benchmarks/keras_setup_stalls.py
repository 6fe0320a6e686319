"""Are Keras-on-TensorFlow's epoch-setup stalls the harness's doing? A bare ``model.fit`` with no
harness at all (the user's Keras code: ``Sequential``, ``compile`` with the accuracy metric, one
``fit`` with Keras' own shuffling), each epoch's setup timed from ``on_epoch_begin`` to the first
``on_train_batch_begin``, a stall counted as the harness counts it
(:func:`harness.record.derived.setup_stalls`: beyond twice the run's median setup plus 20 ms).

Three conditions, each a fresh process, in turn ``--repeats`` times:

- ``none``: nothing between epochs (what a user's ``fit`` does);
- ``epoch-end``: the harness's per-epoch evaluation (a forward pass over the training and the
  validation split) in ``on_epoch_end``, where the harness makes it;
- ``after-setup``: the same evaluation after the next epoch's setup (its first batch's begin).

    python benchmarks/keras_setup_stalls.py [--task mnist1d] [--epochs 30] [--repeats 2]

Prints per condition and repeat the median and largest setup, the stalls (ms) and the median epoch.
Measured 2026-12-03 (AMD EPYC, 2 cores, TensorFlow's calibrated matmul 209 GFLOP/s), mnist1d, 30
epochs, two repeats: stalls of 53-93 ms in every condition, ``none`` included (4 of 58 epochs;
``epoch-end`` 3 of 58; ``after-setup`` 11 of 58): Keras' own, not the harness's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONDITIONS = ("none", "epoch-end", "after-setup")
STALL_FACTOR, STALL_MARGIN_S = 2.0, 0.02  # as harness.record.derived.setup_stalls


def child(where: str, task: str, epochs: int) -> dict[str, list[float]]:
    """One bare ``fit`` in this process; the seconds of each epoch's setup and steps (epochs 2..E)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(REPO))
    import keras

    from benchmarks.bare_loop import keras_model  # the same bare Keras model as the overhead check
    from tasks.mlp.task import MlpTasks

    spec = MlpTasks.make_spec(task, epochs=epochs)
    data = MlpTasks.load_data(spec)
    model = keras_model(spec)

    def evaluate() -> None:
        for x in (data.x_train, data.x_val):
            keras.ops.convert_to_numpy(model(x, training=False))

    setups: list[float] = []
    steps: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            self.begun = time.perf_counter()

        def on_train_batch_begin(self, batch: int, logs: object = None) -> None:
            if batch == 0:
                setups.append(time.perf_counter() - self.begun)
                if where == "after-setup" and steps:
                    evaluate()
                self.first_step = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: object = None) -> None:
            steps.append(time.perf_counter() - self.first_step)
            if where == "epoch-end":
                evaluate()

    model.fit(
        data.x_train, data.y_train, batch_size=spec.batch_size, epochs=spec.epochs, shuffle=True,
        callbacks=[Timer()], verbose=0,
    )  # fmt: skip
    return {"setup": setups[1:], "steps": steps[1:]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="mnist1d")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", choices=CONDITIONS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.task, args.epochs)))
        return 0
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "PYTHONPATH": str(REPO)}
    for _ in range(args.repeats):
        for where in CONDITIONS:
            cmd = [
                sys.executable,
                __file__,
                "--child",
                where,
                "--task",
                args.task,
                "--epochs",
                str(args.epochs),
            ]
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            median = statistics.median(result["setup"])
            stalls = [round(s * 1e3) for s in result["setup"] if s > STALL_FACTOR * median + STALL_MARGIN_S]
            print(
                f"{where:<12} setup median {median * 1e3:6.1f} ms, "
                f"largest {max(result['setup']) * 1e3:6.1f}; "
                f"stalls {len(stalls)} of {len(result['setup'])} {stalls}; "
                f"epoch's steps median {statistics.median(result['steps']) * 1e3:.1f} ms",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
