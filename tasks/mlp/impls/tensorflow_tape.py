"""TensorFlow, low-level style: ``tf.Variable`` weights in a ``tf.Module``, ``tf.GradientTape``
inside a ``tf.function`` train step, and the Keras optimizer TF 2 code applies gradients with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.plugins.contract import Splits, Trainer
from harness.problem.train_spec import TrainSpec
from tasks.mlp.common import batch_slices, full_batches
from tasks.mlp.engines.tensorflow_engine import device_of, tf
from tasks.mlp.shared.keras_optimizers import keras, make_optimizer


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
    ENGINES = ("tensorflow",)
    MODULES = ("keras",)  # the Keras optimizers TF 2 code applies gradients with
    MODES = {
        "default": "tf.function train step with GradientTape, Python loop over batches",
        "epoch-function": "one tf.function over the epoch's full batches (tf.range loop)",
        "xla": "the train step compiled with XLA: tf.function(jit_compile=True)",
    }
    DATA_PATH = "whole dataset as tensors on the device; batches gathered with tf.gather in the step"
    COMPILE = {
        "default": "tf.function graph per step",
        "epoch-function": "tf.function graph per epoch",
        "xla": "tf.function(jit_compile=True) per step",
    }

    def build(self, params: list[np.ndarray], data: Splits) -> None:
        self.tf_device = device_of(self.device)
        with tf.device(self.tf_device):
            self.mlp = make_mlp_module(self.spec, params)
            self.optimizer = make_optimizer(self.spec)  # the Keras optimizers TF 2 code uses
            self.data = self.place(data)
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
            if self.mode == "epoch-function":  # one tf.function call runs every full batch
                batches, order = full_batches(order, self.spec.batch_size)
                if len(batches):
                    self._train_epoch_fn(
                        *self.data["train"], tf.constant(batches), self.step_count.read_value()
                    )
                    self.step_count.assign_add(len(batches))
            for index in batch_slices(tf.constant(order), self.spec.batch_size):
                self._step(index)

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

    def sync_values(self) -> Sequence[Any]:
        return self.mlp.weights
