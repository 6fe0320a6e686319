"""TensorFlow, low-level style: ``tf.Variable`` weights in a ``tf.Module``, ``tf.GradientTape``
inside a ``tf.function`` train step, and the Keras optimizer TF 2 code applies gradients with."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from harness.interface import Probe, Trainer, TrainSpec
from tasks.mlp.impl_keras import make_optimizer
from tasks.mlp.spec import batch_slices

tf: Any = None
keras: Any = None


def _import() -> None:
    global tf, keras
    if tf is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as _tf

        tf = _tf
        keras = _tf.keras


def make_mlp_module(spec: TrainSpec, params: list[np.ndarray]) -> Any:
    """A ``tf.Module`` holding the weights as ``tf.Variable``s, callable as ``mlp(x, training)``."""

    class MLP(tf.Module):
        def __init__(self) -> None:
            super().__init__(name="mlp")
            self.weights = [tf.Variable(p, name=f"p{i}") for i, p in enumerate(params)]
            self.activation = {"relu": tf.nn.relu, "tanh": tf.math.tanh}[spec.activation]

        def __call__(self, x: Any, training: bool = False, seed: Any = None) -> Any:
            n_layers = len(self.weights) // 2
            for i in range(n_layers):
                x = tf.matmul(x, self.weights[2 * i]) + self.weights[2 * i + 1]
                if i < n_layers - 1:
                    x = self.activation(x)
                    if training and spec.dropout:
                        x = tf.nn.experimental.stateless_dropout(
                            x, rate=spec.dropout, seed=tf.stack([seed[0] * 64 + i, seed[1]])
                        )
            return x

    return MLP()


class TensorflowTrainer(Trainer):
    """One ``tf.function`` per train step (the TF 2 guide's pattern), called from Python."""

    FRAMEWORK = "tensorflow"
    API = "low-level"
    MODES = {
        "default": "tf.function train step with GradientTape, Python loop over batches",
        "epoch-function": "one tf.function over the epoch's full batches (tf.range loop)",
        "xla": "the train step compiled with XLA: tf.function(jit_compile=True)",
    }
    SYNC_METHOD = "read the last-updated variable back to the host (.numpy())"
    DATA_PATH = "whole dataset as tensors on the device; batches gathered with tf.gather in the step"

    @classmethod
    def setup_framework(cls, threads: int, backend: str = "") -> dict[str, Any]:
        _import()
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        tf.config.experimental.enable_tensor_float_32_execution(False)
        return {
            "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "matmul_precision": "float32",
            "tf32": bool(tf.config.experimental.tensor_float_32_execution_enabled()),
        }

    @classmethod
    def device_reason(cls, device: str) -> str | None:
        if device == "gpu" and not tf.config.list_physical_devices("GPU"):
            return f"tensorflow {tf.__version__} sees no GPU (tensorflow-cpu build or no CUDA device)"
        return None

    @classmethod
    def probe(cls, device: str, n: int) -> Probe:
        tf_device = "/GPU:0" if device == "gpu" else "/CPU:0"
        rng = np.random.default_rng(0)
        with tf.device(tf_device):
            a, b = (tf.constant(rng.standard_normal((n, n), dtype=np.float32)) for _ in "ab")
            state = {"product": tf.matmul(a, b), "tiny": tf.zeros(1)}
        increment = tf.function(lambda x: x + 1)

        def run_matmul() -> None:
            with tf.device(tf_device):
                state["product"] = tf.matmul(a, b)

        def run_dispatch() -> None:
            with tf.device(tf_device):
                state["tiny"] = increment(state["tiny"])

        def sync() -> None:  # a read-back waits for the kernels before it; a 1x1 slice copies little
            state["product"][:1, :1].numpy()
            state["tiny"].numpy()

        return Probe(
            matmul=run_matmul,
            dispatch=run_dispatch,
            sync=sync,
            dispatch_kind="call of a tf.function x + 1 on a 1-element tensor",
        )

    def build(self, params: list[np.ndarray], data: Any) -> None:
        self.tf_device = "/GPU:0" if self.device == "gpu" else "/CPU:0"
        with tf.device(self.tf_device):
            self.mlp = make_mlp_module(self.spec, params)
            self.optimizer = make_optimizer(self.spec)  # the Keras optimizers TF 2 code uses
            self.data = {s: tuple(tf.constant(a) for a in data.split(s)) for s in ("train", "val", "test")}
            self.step_count = tf.Variable(0, dtype=tf.int64)
        mlp, opt, seed0 = self.mlp, self.optimizer, self.spec.seed
        loss_obj = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

        def step_body(x_all: Any, y_all: Any, index: Any, step: Any) -> Any:
            x, y = tf.gather(x_all, index), tf.gather(y_all, index)
            seed = tf.stack([tf.constant(seed0, tf.int64), step])
            with tf.GradientTape() as tape:
                loss = loss_obj(y, mlp(x, training=True, seed=seed))
            grads = tape.gradient(loss, mlp.weights)
            opt.apply_gradients(zip(grads, mlp.weights, strict=True))
            return loss

        @tf.function
        def train_epoch(x_all: Any, y_all: Any, batches: Any, step0: Any) -> None:
            for i in tf.range(tf.shape(batches)[0]):
                step_body(x_all, y_all, batches[i], step0 + tf.cast(i, tf.int64) + 1)

        self._train_epoch_fn = train_epoch
        train_step = tf.function(step_body, jit_compile=self.mode == "xla")

        @tf.function
        def evaluate(x: Any, y: Any) -> Any:
            logits = mlp(x)
            acc = tf.reduce_mean(tf.cast(tf.argmax(logits, axis=1) == y, tf.float32))
            return loss_obj(y, logits), acc

        self._train_step, self._evaluate = train_step, evaluate
        self._predict = tf.function(lambda x: mlp(x))

    def _step(self, index: Any) -> Any:
        x, y = self.data["train"]
        if self.spec.dropout:  # the seed is read only by dropout; an eager assign_add per batch costs
            self.step_count.assign_add(1)
        return self._train_step(x, y, index, self.step_count)

    def train_epoch(self, order: np.ndarray) -> None:
        with tf.device(self.tf_device):
            if self.mode == "epoch-function":
                order = self._epoch_function_full_batches(order)
            for index in batch_slices(tf.constant(order), self.spec.batch_size):
                self._step(index)

    def _epoch_function_full_batches(self, order: np.ndarray) -> np.ndarray:
        """One ``tf.function`` call runs every full batch of the epoch; returns the short rest."""
        size = self.spec.batch_size
        n_full = len(order) // size
        if n_full:
            x, y = self.data["train"]
            batches = tf.constant(order[: n_full * size].reshape(n_full, size))
            self._train_epoch_fn(x, y, batches, self.step_count.read_value())
            self.step_count.assign_add(n_full)
        return order[n_full * size :]

    def train_step(self, index: np.ndarray) -> float:
        with tf.device(self.tf_device):
            return float(self._step(tf.constant(index)).numpy())

    def evaluate(self, split: str) -> tuple[float, float]:
        with tf.device(self.tf_device):
            loss, acc = self._evaluate(*self.data[split])
        return float(loss.numpy()), float(acc.numpy())

    def predict_batch(self, x: np.ndarray) -> None:
        with tf.device(self.tf_device):
            self._predict(tf.constant(x)).numpy()

    def get_params(self) -> list[np.ndarray]:
        return [v.numpy() for v in self.mlp.weights]

    def sync(self) -> None:
        # The last variable is updated last; reading it back waits for every queued kernel.
        self.mlp.weights[-1].numpy()

    def execution(self) -> dict[str, Any]:
        out = super().execution()
        out["compile"] = {
            "default": "tf.function graph per step",
            "epoch-function": "tf.function graph per epoch",
            "xla": "tf.function(jit_compile=True) per step",
        }[self.mode]
        return out

    def device_memory_peak_bytes(self) -> int | None:
        if self.device != "gpu":
            return None
        return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
