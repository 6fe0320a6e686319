"""Every pair of implementations trains the same network the same way: same per-step losses from
the same initial weights and batch order, same final weights, same metrics after a timed epoch."""

from __future__ import annotations

import itertools
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from harness.plugins import registry
from harness.run import worker_client
from tests.real_runs import each_available, skip_without
from tests.tasks.parity_probe import FIT_PROBE, MODE_PROBES, PROBE_STEPS, PROBES

# Every available implementation in every mode: modes must train the same model on the same batches.
ALL = [f"{name}:{mode}" for name, info in registry.implementations().items() for mode in info.modes]
IMPLS = [i for i in ALL if registry.implementations()[i.split(":")[0]].unavailable_reason() is None]
SGD_RTOL = 1e-4  # the bound for float32 SGD
# Adam "stays close": Keras' Adam (used by keras and by TF's low-level loop) puts epsilon outside
# the bias correction (eps-hat), torch and optax inside, so the updates of parameters with tiny
# gradients differ slightly by design; measured max 5e-3 relative over 60 steps.
ADAM_RTOL = 2e-2
# Max abs difference of any weight, after the 60 probe steps and after one more epoch. An Adam
# update is at most ~lr per step, so the eps-hat difference above can move a near-zero-gradient
# weight by up to lr * steps (0.19 for the adamw probe's 95 steps); measured max 4.5e-2.
WEIGHT_ATOL = {"sgd": 1e-4, "adam": 1e-1}
OPTIMIZER = {name: overrides["optimizer"] for name, _, overrides in PROBES}  # the tolerances' family


@pytest.fixture(scope="module")
def probes(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> dict[str, dict[str, np.ndarray]]:
    """Run the probe once per implementation, each in its own process (as the harness does, one
    thread each), every mode of it in that process."""
    out_dir = tmp_path_factory.mktemp("parity")
    modes: dict[str, list[str]] = {}
    for impl in IMPLS:
        name, mode = impl.split(":")
        modes.setdefault(name, []).append(mode)

    every = ["--all-probes"] if request.config.getoption("--runslow") else []

    def probe(name: str) -> subprocess.CompletedProcess:
        env = worker_client.worker_env(registry.get(name).engine, name, "cpu", 1)
        script = str(Path(__file__).with_name("parity_probe.py"))
        return subprocess.run(
            [sys.executable, script, name, str(out_dir), *every, *modes[name]],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    # Two probes at a time, a thread each: what they compare is numbers, not times, and most of a
    # probe is its framework's import and compilation. The longest first (JAX compiles most).
    names = sorted(modes, key=lambda name: (registry.get(name).engine != "jax", -len(modes[name])))
    with ThreadPoolExecutor(max_workers=2) as pool:
        for name, done in zip(names, pool.map(probe, names), strict=True):
            assert done.returncode == 0, f"{name} probe failed:\n{done.stderr[-3000:]}"
    results = {}
    for impl in IMPLS:
        with np.load(out_dir / f"{impl.replace(':', '-')}.npz") as data:
            results[impl] = {k: data[k] for k in data.files}
    return results


@pytest.mark.parametrize("impl", each_available(registry.implementations(), ALL))
def test_each_available_implementation_and_mode_is_in_the_comparison(probes: dict, impl: str) -> None:
    """The comparisons below are over the available ones; an unavailable one is skipped here, by
    name and with its reason, not dropped without a word."""
    assert impl in probes


@pytest.mark.parametrize("impl", each_available(registry.implementations(), ALL))
def test_each_implementation_and_mode_has_its_weights_compared(probes: dict, impl: str) -> None:
    """The weight comparisons below are over the implementations with the optional ``get_params``;
    one without it is skipped here, by name and with the reason (its losses and metrics are still
    compared)."""
    skip_without(registry.get(impl.split(":")[0]).trainer_class(), "get_params")
    assert all(f"{name}/param0" in probes[impl] for name, _, _ in PROBES if f"{name}/losses" in probes[impl])


def test_a_worker_off_tensorflow_never_imports_it(probes: dict) -> None:
    """One environment holds every framework, so what a worker imports beyond its own is carried
    into its measured memory and build: Keras on JAX or torch once imported TensorFlow to seed it
    (``keras.utils.set_random_seed``), 430 MB of peak RSS a user of that backend never has."""
    for impl in IMPLS:
        engine = registry.get(impl.split(":")[0]).engine
        imported = bool(probes[impl]["imported_tensorflow"])
        assert imported == (engine == "tensorflow"), f"{impl} on {engine}: TensorFlow imported {imported}"


def test_every_implementation_and_mode_is_probed() -> None:
    assert {"torch:default", "tensorflow:default", "jax:default", "keras:default"} <= set(IMPLS)
    assert {"jax:scan", "tensorflow:epoch-function", "tensorflow:xla", "keras:fast", "torch:fused"} <= set(
        IMPLS
    )


def _having(probes: dict, probe_name: str) -> list[str]:
    """The implementations and modes that ran ``probe_name`` (every default mode does; the others
    run :data:`MODE_PROBES` unless ``--runslow``), the default modes first."""
    having = [i for i in IMPLS if f"{probe_name}/losses" in probes[i]]
    assert all(f"{probe_name}/losses" in probes[i] for i in IMPLS if i.endswith(":default")), probe_name
    if probe_name in MODE_PROBES:
        assert having == IMPLS, f"{probe_name}: not run by {sorted(set(IMPLS) - set(having))}"
    return sorted(having, key=lambda i: not i.endswith(":default"))


@pytest.mark.parametrize("probe_name", [p[0] for p in PROBES])
def test_per_step_losses_agree(probes: dict, probe_name: str) -> None:
    rtol = SGD_RTOL if OPTIMIZER[probe_name] == "sgd" else ADAM_RTOL
    for a, b in itertools.combinations(_having(probes, probe_name), 2):
        la, lb = probes[a][f"{probe_name}/losses"], probes[b][f"{probe_name}/losses"]
        assert len(la) == len(lb) == PROBE_STEPS
        rel = np.abs(la - lb) / np.abs(lb)
        assert rel.max() <= rtol, f"{a} vs {b}: step {rel.argmax()} differs by {rel.max():.2e}"
        assert la[-1] < la[0], f"{a}: training did not reduce the loss"


@pytest.mark.parametrize("probe_name", [p[0] for p in PROBES])
def test_final_weights_and_epoch_agree(probes: dict, probe_name: str) -> None:
    sgd = OPTIMIZER[probe_name] == "sgd"
    atol = WEIGHT_ATOL[OPTIMIZER[probe_name]]
    having = _having(probes, probe_name)
    # the first with weights (get_params is optional: the test above names those without)
    ref = next(i for i in having if f"{probe_name}/param0" in probes[i])
    reference = probes[ref]
    keys = [k for k in reference if k.startswith((f"{probe_name}/param", f"{probe_name}/after_epoch_param"))]
    assert keys
    for impl in [i for i in having if i != ref]:
        for key in keys if f"{probe_name}/param0" in probes[impl] else []:
            diff = np.abs(probes[impl][key] - reference[key]).max()
            assert diff <= atol, f"{impl} vs {ref} {key}: max |diff| {diff:.2e}"
        val_loss, val_acc = probes[impl][f"{probe_name}/after_epoch_val"]
        ref_loss, ref_acc = reference[f"{probe_name}/after_epoch_val"]
        loss_rtol = 1e-3 if sgd else 1e-2  # a whole epoch more of eps-hat drift
        assert abs(val_loss - ref_loss) <= loss_rtol * max(1.0, abs(ref_loss))
        # SGD: at most one of mnist1d's 500 validation samples flips (none on smaller splits);
        # Adam: the eps-hat drift may flip a few of mnist1d's 500 (measured 6).
        acc_tol = 1.5 / 500 if sgd else 0.02
        assert abs(val_acc - ref_acc) <= acc_tol


def test_warm_up_leaves_every_model_as_it_was(probes: dict) -> None:
    """``Trainer.warm_up`` runs untimed before interleaved epochs: it must not move a weight (and
    the after-epoch agreement above shows the epoch after it trains as it would have)."""
    for impl in IMPLS:
        for probe_name in [name for name, _, _ in PROBES if f"{name}/warm_up_change" in probes[impl]]:
            change = float(probes[impl][f"{probe_name}/warm_up_change"])
            assert change == 0.0, f"{impl} {probe_name}: warm_up moved a weight by {change:.2e}"


def test_owned_training_loops_train_on_the_harness_batches(probes: dict) -> None:
    """Each implementation's ``fit`` (a Keras or Lightning loop included) trains on the same
    batches as torch's: the same weights after two SGD epochs. Modes that shuffle by themselves
    (Keras' own data path) have no fit probe and are named as such in every record."""
    name = FIT_PROBE[0]
    reference = probes["torch:default"]
    keys = [k for k in reference if k.startswith(f"{name}/")]
    assert keys
    with_fit = [impl for impl in IMPLS if f"{name}/param0" in probes[impl]]
    assert {"torch:default", "jax:default", "tensorflow:default", "keras:same-batches"} <= set(with_fit)
    assert "keras:default" not in with_fit  # Keras' own shuffling: other batches by design
    for impl in with_fit:
        for key in keys:
            diff = np.abs(probes[impl][key] - reference[key]).max()
            assert diff <= WEIGHT_ATOL["sgd"], f"{impl} fit vs torch {key}: max |diff| {diff:.2e}"
