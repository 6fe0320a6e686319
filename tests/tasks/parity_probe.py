"""Run by the parity tests in a subprocess per implementation (Keras' backend is fixed per process):
``python tests/parity_probe.py IMPL MODE OUT.npz`` trains each probe configuration for PROBE_STEPS steps
from the shared numpy initial weights and batch order, and saves per-step losses and final weights."""

from __future__ import annotations

import sys

import numpy as np

from harness.run import worker
from tasks.mlp import spec as task_spec

PROBE_STEPS = 60
# (name, task, spec overrides): SGD must agree to 1e-4 relative, Adam stays close.
PROBES = (
    ("sgd_digits", "digits", {"optimizer": "sgd", "learning_rate": 0.05}),
    ("sgd_iris_tanh", "iris", {"optimizer": "sgd", "learning_rate": 0.1, "activation": "tanh"}),
    ("sgd_momentum_mnist1d", "mnist1d", {"optimizer": "sgd", "learning_rate": 0.01, "momentum": 0.9}),
    ("adam_digits", "digits", {"optimizer": "adam", "learning_rate": 1e-3}),
    ("adamw_mnist1d", "mnist1d", {"optimizer": "adam", "learning_rate": 2e-3, "weight_decay": 0.05}),
    ("softmax_regression_iris", "iris", {"optimizer": "sgd", "learning_rate": 0.1, "hidden": ()}),
)


def probe(impl: str, mode: str = "default") -> dict[str, np.ndarray]:
    unit, _ = worker.prepare(impl, 2)
    out: dict[str, np.ndarray] = {}
    for name, task, overrides in PROBES:
        spec = task_spec.make_spec(task, **overrides)
        data = task_spec.load_data(spec)
        trainer = unit.trainer(spec, "cpu", mode, unit.engine)
        trainer.build(task_spec.init_params(spec), data)
        losses: list[float] = []
        epoch = 0
        while len(losses) < PROBE_STEPS:
            order = task_spec.batch_order(spec, epoch, len(data.y_train))
            for index in task_spec.batch_slices(order, spec.batch_size)[: PROBE_STEPS - len(losses)]:
                losses.append(trainer.train_step(index))
            epoch += 1
        out[f"{name}/losses"] = np.asarray(losses)
        for i, p in enumerate(trainer.get_params()):
            out[f"{name}/param{i}"] = p
        # then a whole epoch through train_epoch: the path the benchmark times must match too
        trainer.train_epoch(task_spec.batch_order(spec, epoch, len(data.y_train)))
        trainer.sync()
        out[f"{name}/after_epoch_val"] = np.asarray(trainer.evaluate("val"))
        for i, p in enumerate(trainer.get_params()):
            out[f"{name}/after_epoch_param{i}"] = p
    return out


if __name__ == "__main__":
    np.savez(sys.argv[3], **probe(sys.argv[1], sys.argv[2]))
