"""Keras 3, high-level style: a ``keras.Sequential`` stack of ``Dense`` layers trained with one
``model.fit(..., epochs=N, callbacks=[...])`` for the whole training, as Keras users write it.
``default`` hands ``fit`` the training arrays with ``shuffle=True`` (Keras shuffles, seeded, its own
batches); ``same-batches`` a ``PyDataset`` serving the harness's batches in its order, as every other
implementation trains (what the parity tests hold it to); ``fast``: default, an epoch per execution.

Keras picks its backend once per process (``KERAS_BACKEND``), so each backend runs in its own
worker; the registry lists them as ``keras`` (TensorFlow), ``keras-jax`` and ``keras-torch``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.plugins.contract import EpochHooks, EpochOrders, Splits, Trainer
from harness.problem.train_spec import TrainSpec
from tasks.mlp.common import metrics_from_logits
from tasks.mlp.shared import keras_fit_hooks
from tasks.mlp.shared.keras_fit_hooks import execution_facts, make_callback, make_dataset, placement
from tasks.mlp.shared.keras_optimizers import keras, make_optimizer


def build_model(spec: TrainSpec) -> Any:
    """``Dense(activation) -> Dropout`` per hidden layer, then ``Dense`` logits."""
    layers: list[Any] = [keras.Input((spec.n_features,))]
    for width in spec.hidden:
        layers.append(keras.layers.Dense(width, activation=spec.activation))
        if spec.dropout:
            layers.append(keras.layers.Dropout(spec.dropout, seed=spec.seed))
    layers.append(keras.layers.Dense(spec.n_classes))
    return keras.Sequential(layers)


class KerasTrainer(Trainer):
    """One ``model.fit`` over every epoch; the harness's hooks run from a Keras callback."""

    FRAMEWORK = "keras"
    API = "high-level"
    ENGINES = ("tensorflow", "jax", "torch")
    MODULES = ("keras",)
    MODES = {
        "default": "model.fit(x, y, epochs=N, shuffle=True): Keras' own data path and shuffling",
        "same-batches": "model.fit(PyDataset, epochs=N): the harness's batches in its order (parity-exact)",
        "fast": "as default, compile(steps_per_execution=steps per epoch, jit_compile=True on tf/jax)",
    }
    OWN_SHUFFLE_MODES = ("default", "fast")
    SYNC_METHOD = "an epoch ends after Keras reads its logs back; the hook then waits for the last weight"
    DATA_PATH = "numpy arrays (default, fast) or a PyDataset (same-batches) fed to fit by Keras' adapter"
    FACTS = {"keras_backend": str, "jit_compile": bool, "steps_per_execution": int}

    @classmethod
    def worker_env(cls, engine: str) -> dict[str, str]:
        return {"KERAS_BACKEND": engine}  # Keras picks its backend once per process, at import

    @classmethod
    def prepare(cls, engine: str) -> dict[str, Any]:
        backend = keras.backend.backend()
        if backend != engine:
            raise RuntimeError(f"keras already runs on {backend!r} in this process, not {engine!r}")
        return super().prepare(engine)

    @classmethod
    def mode_reason(cls, mode: str, engine: str) -> str | None:
        if mode == "fast" and engine == "torch":
            return (
                "Keras' torch backend accepts only steps_per_execution=1 (Keras 3.15), and its "
                "jit_compile means torch.compile, not XLA: there is no 'fast' mode on it"
            )
        return super().mode_reason(mode, engine)

    def build(self, params: list[np.ndarray], data: Splits) -> None:
        keras_fit_hooks.set_random_seed(self.spec.seed)  # keras.utils' without TensorFlow off it
        with placement(self.device):
            self.model = build_model(self.spec)
            self.model.set_weights(params)
            self.model.compile(
                optimizer=make_optimizer(self.spec),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"],
                **self._fast_options(len(data.y_train)),
            )
        self.data = self.place(data, on_host=True)

    def _fast_options(self, n_train: int) -> dict[str, Any]:
        """``fast`` mode: a whole epoch per execution, XLA where the backend compiles with it
        (Keras' jit_compile on the torch backend means torch.compile, which is not XLA)."""
        if self.mode != "fast":
            return {}
        return {
            "steps_per_execution": self.spec.steps_per_epoch(n_train),
            "jit_compile": keras.backend.backend() != "torch",
        }

    def fit(self, orders: EpochOrders, hooks: EpochHooks) -> None:
        """All epochs in one ``model.fit``, the hooks called from a callback."""
        x, y = self.data["train"]
        dataset = make_dataset(x, y, self.spec.batch_size, orders) if self.mode == "same-batches" else None
        callback = make_callback(hooks, dataset)
        with placement(self.device):
            if dataset is not None:
                # shuffle=False: fit shuffles a PyDataset's batch indices by default, which would reorder
                # the harness's batches within each epoch
                self.model.fit(
                    dataset, epochs=self.spec.epochs, shuffle=False, callbacks=[callback], verbose=0
                )
            else:
                self.model.fit(
                    x, y, batch_size=self.spec.batch_size, epochs=self.spec.epochs, shuffle=True,
                    callbacks=[callback], verbose=0,
                )  # fmt: skip

    def train_epoch(self, order: np.ndarray) -> None:
        x, y = self.data["train"]
        with placement(self.device):
            self.model.fit(
                x[order], y[order], batch_size=self.spec.batch_size, epochs=1, shuffle=False, verbose=0
            )

    def train_step(self, index: np.ndarray) -> float:
        x, y = self.data["train"]
        with placement(self.device):
            out = self.model.train_on_batch(x[index], y[index], return_dict=True)
        return float(out["loss"])

    def evaluate(self, split: str) -> tuple[float, float]:
        # One forward call on the whole split: model.evaluate() rebuilds its data pipeline on every
        # call, which costs more than the forward pass itself on these small sets.
        x, y = self.data[split]
        with placement(self.device):
            logits = keras.ops.convert_to_numpy(self.model(x, training=False))
        return metrics_from_logits(logits, y)

    def predict_batch(self, x: np.ndarray) -> None:
        with placement(self.device):
            self.model.predict_on_batch(x)

    def get_params(self) -> list[np.ndarray]:
        return [np.asarray(w) for w in self.model.get_weights()]

    def sync_values(self) -> Sequence[Any]:
        return [w.value for w in self.model.weights]

    def execution(self) -> dict[str, Any]:
        return super().execution() | execution_facts(self.model)
