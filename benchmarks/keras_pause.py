"""Why Keras on TensorFlow ran slow epochs when the interleaved schedule paused its ``fit``: the
experiment that isolates it, outside the harness (one ``model.fit`` per condition, each in a fresh
process, the harness's Keras model and optimizer on the task's real data).

    python benchmarks/keras_pause.py [--task mnist1d] [--epochs 12]

Each condition pauses ``fit`` between epochs (or not) the way the interleaved schedule does, and
prints the steady epochs' step time and how long each epoch waited before its first step began:

- ``back-to-back``: no pause (what a user's ``fit`` does);
- ``idle pause``: 0.8 s asleep in ``on_epoch_begin``, nothing else running;
- ``busy pause``: 0.5 s asleep, then 0.3 s while two other processes keep both cores busy, as
  the other runs of an interleaved round do (each ends its epoch, evaluates, and its threads spin
  down while the next run resumes);
- ``busy pause, keep iterators``: the same, with every ``tf.data`` iterator Keras drops kept alive
  (never destroyed);
- ``busy pause, no autotune``: the same, with ``tf.data`` autotuning off in Keras' array pipeline;
- ``busy pause before first step``: the same pause, at the first ``on_train_batch_begin`` of each
  epoch instead (after Keras has made the epoch's iterator), the epoch's setup before it timed:
  what the harness does now (``EpochHooks.steps_start``).

Then the law of the wait: with the busy pause stretched (0.2, 0.5, 1.0, 2.0 s asleep + 0.3 s busy)
the first step waits until 10 * (2**k - 1) ms after the previous epoch ended (10, 30, 70, ..., 630,
1270, 2550 ms): the wake-up times of ``tf.data``'s autotuning thread, whose period starts at 10 ms
and doubles. Keras' array adapter makes a new iterator at the end of every epoch and replaces it
with another at the start of the next; destroying the replaced one joins its autotuning thread,
and after a pause on a busy CPU that join returned only at the thread's next scheduled wake-up
(a native stack of the waiting ``fit`` thread: ``RootDataset::Iterator::~Iterator`` ->
``UnboundedThreadPool::LogicalThreadWrapper::~LogicalThreadWrapper`` -> ``WaitForNotification``).
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
CONDITIONS = (
    "back-to-back",
    "idle pause",
    "busy pause",
    "busy pause, keep iterators",
    "busy pause, no autotune",
    "busy pause before first step",
)
BUSY_S = 0.3


def _busy(seconds: float) -> None:
    """Two other processes keep both cores busy for ``seconds``."""
    code = f"import time\nend = time.perf_counter() + {seconds}\nwhile time.perf_counter() < end: pass"
    for process in [subprocess.Popen([sys.executable, "-c", code]) for _ in range(2)]:
        process.wait()


def _patch(condition: str) -> None:
    """The experiment's interventions on Keras' TensorFlow data path (never done by the harness)."""
    from keras.src.trainers import epoch_iterator
    from keras.src.trainers.data_adapters import array_data_adapter

    if condition.endswith("keep iterators"):
        kept = []

        def get(self):  # noqa: ANN001, ANN202
            return self.__dict__.get("_kept_iterator")

        def put(self, value):  # noqa: ANN001, ANN202
            kept.append(self.__dict__.get("_kept_iterator"))
            self.__dict__["_kept_iterator"] = value

        epoch_iterator.EpochIterator._current_iterator = property(get, put)
    if condition.endswith("no autotune"):
        import tensorflow as tf

        made = array_data_adapter.ArrayDataAdapter.get_tf_dataset

        def without_autotune(self):  # noqa: ANN001, ANN202
            options = tf.data.Options()
            options.autotune.enabled = False
            return made(self).with_options(options)

        array_data_adapter.ArrayDataAdapter.get_tf_dataset = without_autotune


def child(task: str, epochs: int, condition: str, asleep_s: float) -> dict:
    """One ``fit`` under ``condition``; per steady epoch its ms per step and its wait before the
    first step (ms from the epoch's start, the pause excluded)."""
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    sys.path.insert(0, str(REPO))
    import tensorflow as tf

    threads = os.cpu_count() or 1
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras

    from tasks.mlp.impls.keras_fit import build_model
    from tasks.mlp.shared.keras_optimizers import make_optimizer
    from tasks.mlp.task import MlpTasks

    _patch(condition)
    spec = MlpTasks.make_spec(task, epochs=epochs)
    data = MlpTasks.load_data(spec)
    x, y = data.split("train")
    steps = spec.steps_per_epoch(len(y))
    model = build_model(spec)
    model.set_weights(MlpTasks.init_params(spec))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=make_optimizer(spec), loss=loss)

    paused_ms: list[float] = []

    def pause() -> None:
        start = time.perf_counter()
        if condition == "idle pause":
            time.sleep(asleep_s + BUSY_S)
        elif condition != "back-to-back":
            time.sleep(asleep_s)
            _busy(BUSY_S)
        paused_ms.append((time.perf_counter() - start) * 1e3)

    class Probe(keras.callbacks.Callback):
        at_first_step = condition.endswith("before first step")

        def __init__(self) -> None:
            super().__init__()
            self.epoch_ms: list[float] = []
            self.wait_ms: list[float] = []
            self.setup_s = 0.0
            self.start = 0.0

        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            if not self.at_first_step:
                pause()
            self.start = time.perf_counter()

        def on_train_batch_begin(self, batch: int, logs: object = None) -> None:
            if batch:
                return
            self.setup_s = time.perf_counter() - self.start
            self.wait_ms.append(self.setup_s * 1e3)
            if self.at_first_step:
                pause()
                self.start = time.perf_counter()
            else:
                self.setup_s = 0.0

        def on_epoch_end(self, epoch: int, logs: object = None) -> None:
            self.model.weights[-1].value.numpy()
            self.epoch_ms.append((time.perf_counter() - self.start + self.setup_s) * 1e3 / steps)

    probe = Probe()
    model.fit(x, y, batch_size=spec.batch_size, epochs=epochs, shuffle=True, callbacks=[probe], verbose=0)
    return {"ms_per_step": probe.epoch_ms[1:], "wait_ms": probe.wait_ms[1:], "paused_ms": paused_ms[1:]}


def _run_child(task: str, epochs: int, condition: str, asleep_s: float) -> dict:
    cmd = [sys.executable, __file__, "--child", condition, "--task", task, "--epochs", str(epochs)]
    cmd += ["--asleep", str(asleep_s)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO).stdout
    return json.loads(out.strip().splitlines()[-1])


def _predicted_end_ms(paused_ms: float) -> float:
    """The first autotuning wake-up after ``paused_ms``: 10 * (2**k - 1) ms."""
    k = 1
    while 10 * (2**k - 1) < paused_ms:
        k += 1
    return 10.0 * (2**k - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="mnist1d")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=2, help="fresh processes per condition")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--asleep", type=float, default=0.5, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write every raw epoch here")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.task, args.epochs, args.child, args.asleep)))
        return
    raw: dict[str, list[dict]] = {}
    print(f"{args.task}, Keras on TensorFlow, {args.epochs} epochs, {args.repeats} processes per condition")
    print(f"{'condition':32} {'median':>8} {'max':>8}  ms/step | waits > 50 ms before the first step")
    for condition in CONDITIONS:
        runs = [_run_child(args.task, args.epochs, condition, 0.5) for _ in range(args.repeats)]
        raw[condition] = runs
        steps = [v for run in runs for v in run["ms_per_step"]]
        waits = [w for run in runs for w in run["wait_ms"]]
        long = [round(w) for w in waits if w > 50]
        print(
            f"{condition:32} {statistics.median(steps):8.2f} {max(steps):8.2f}  "
            f"| {len(long)} of {len(waits)} epochs {long}"
        )
    print("\nthe law of the wait (busy pause stretched): measured end of the wait vs 10*(2**k-1) ms")
    for asleep_s in (0.2, 0.5, 1.0, 2.0):
        run = _run_child(args.task, args.epochs, "busy pause", asleep_s)
        raw[f"busy pause, {asleep_s} s asleep"] = [run]
        pairs = zip(run["paused_ms"], run["wait_ms"], strict=True)
        ends = [(round(p), round(p + w), _predicted_end_ms(p)) for p, w in pairs if w > 50]
        print(f"  {asleep_s} s asleep + {BUSY_S} s busy: (paused, wait ended, predicted) ms: {ends}")
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    main()
