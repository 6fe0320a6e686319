"""Run by the parity tests in a subprocess per implementation (Keras' backend is fixed per process):
``python tests/tasks/parity_probe.py IMPL OUT_DIR [--all-probes] MODE [MODE ...]`` trains each probe
configuration for PROBE_STEPS steps from the shared numpy initial weights and batch order, in each
mode, and saves the per-step losses and final weights as ``OUT_DIR/IMPL-MODE.npz``. One process per
implementation (its modes share the framework's import).

The default mode of every implementation runs every probe (each optimizer, activation and depth);
the other modes (compiled, fused, scanned, another data path) change how the same step executes,
so they run :data:`MODE_PROBES` (SGD on digits, held to 1e-4: the strictest check that a mode
trains the same steps), and the fit probe through their own loop, unless ``--all-probes`` is given
(``pytest --runslow``): each probe rebuilds and recompiles the model, and the other three would
cost the compiled modes about a minute and a half of the default test run on the slow kind.

Weights are read with the optional ``Trainer.get_params``: an implementation without it records its
losses and metrics only, and ``test_parity`` skips its weight comparison by name, with the reason."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from harness.plugins.contract import Trainer
from harness.run import worker
from tasks.mlp import common
from tasks.mlp.task import MlpTasks

PROBE_STEPS = 60
# (name, task, spec overrides): SGD must agree to 1e-4 relative, Adam stays close. Four probes
# cover each optimizer (SGD, SGD with momentum, Adam, AdamW), each activation (relu, tanh) and each
# depth (hidden layers, none: softmax regression) at least once; each probe rebuilds and recompiles
# the model, which is most of the parity tests' time, so no axis is probed twice.
PROBES = (
    ("sgd_digits", "digits", {"optimizer": "sgd", "learning_rate": 0.05}),
    (
        "sgd_momentum_tanh_iris",
        "iris",
        {"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9, "activation": "tanh"},
    ),
    ("adam_softmax_iris", "iris", {"optimizer": "adam", "learning_rate": 1e-2, "hidden": ()}),
    ("adamw_mnist1d", "mnist1d", {"optimizer": "adam", "learning_rate": 2e-3, "weight_decay": 0.05}),
)


MODE_PROBES = ("sgd_digits",)
FIT_PROBE = ("fit_sgd_digits", "digits", {"optimizer": "sgd", "learning_rate": 0.05, "epochs": 2})


class _NoHooks:
    def epoch_start(self, epoch: int) -> None:
        pass

    def steps_start(self, epoch: int) -> None:
        pass

    def epoch_end(self, epoch: int) -> bool:
        return False


def weights(trainer: Trainer, prefix: str) -> dict[str, np.ndarray]:
    """The trainer's weights as ``{prefix}{i}``; none from one without the optional ``get_params``."""
    if not trainer.SUPPORTS_GET_PARAMS:
        return {}
    return {f"{prefix}{i}": p for i, p in enumerate(trainer.get_params())}


def probe_fit(unit: object, mode: str) -> dict[str, np.ndarray]:
    """Two epochs through the implementation's own ``fit`` loop (the path the benchmark times),
    on the harness's batches; nothing for a mode that shuffles by itself."""
    if mode in unit.trainer.OWN_SHUFFLE_MODES:
        return {}
    name, task, overrides = FIT_PROBE
    spec = MlpTasks.make_spec(task, **overrides)
    data = MlpTasks.load_data(spec)
    trainer = unit.trainer(spec, "cpu", mode, unit.engine)
    trainer.build(MlpTasks.init_params(spec), data)
    n_train = len(data.y_train)
    trainer.fit(lambda epoch: MlpTasks.batch_order(spec, epoch, n_train), _NoHooks())
    trainer.sync()
    return weights(trainer, f"{name}/param")


def probe(unit: worker.Unit, mode: str = "default", every_probe: bool = True) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, task, overrides in PROBES:
        if not every_probe and name not in MODE_PROBES:
            continue
        spec = MlpTasks.make_spec(task, **overrides)
        data = MlpTasks.load_data(spec)
        trainer = unit.trainer(spec, "cpu", mode, unit.engine)
        trainer.build(MlpTasks.init_params(spec), data)
        losses: list[float] = []
        epoch = 0
        while len(losses) < PROBE_STEPS:
            order = MlpTasks.batch_order(spec, epoch, len(data.y_train))
            for index in common.batch_slices(order, spec.batch_size)[: PROBE_STEPS - len(losses)]:
                losses.append(trainer.train_step(index))
            epoch += 1
        out[f"{name}/losses"] = np.asarray(losses)
        before = weights(trainer, f"{name}/param")
        out |= before
        # the untimed warm-up before an interleaved epoch must leave the model as it was
        trainer.warm_up()
        moved = [np.abs(before[k] - p).max() for k, p in weights(trainer, f"{name}/param").items()]
        if moved:
            out[f"{name}/warm_up_change"] = np.asarray(max(moved))
        # then a whole epoch through train_epoch: the path the benchmark times must match too
        trainer.train_epoch(MlpTasks.batch_order(spec, epoch, len(data.y_train)))
        trainer.sync()
        out[f"{name}/after_epoch_val"] = np.asarray(trainer.evaluate("val"))
        out |= weights(trainer, f"{name}/after_epoch_param")
    return out | probe_fit(unit, mode)


if __name__ == "__main__":
    impl, out_dir, rest = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    every = "--all-probes" in rest
    prepared, _ = worker.prepare(impl, 1)
    for mode in [m for m in rest if m != "--all-probes"]:
        out = probe(prepared, mode, every or mode == "default")
        # after every build and epoch: a worker off TensorFlow must not carry it (its memory is measured)
        out["imported_tensorflow"] = np.asarray("tensorflow" in sys.modules)
        np.savez(out_dir / f"{impl}-{mode}.npz", **out)
