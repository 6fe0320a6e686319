"""Where a step's time goes: the step model per implementation (a cost per epoch over its steps, a
fixed cost per step, the products at a rate that grows with their size), its interval, where two
implementations change places, its error on two networks it was not fitted to (real records), and
``harness predict`` reading a run set for a network it never ran."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from harness.cli.main import main
from harness.plan import step_model
from harness.record import derived
from harness.record.schema import RunRecord, Timings
from harness.store.runs import load

DATA = Path(__file__).parents[1] / "data"
# The default bench's seven networks (seed 0) and two held out (seeds 0-2), 9 implementations each:
# benchmarks/step_model_heldout.py --run --grid --seeds 3 on a 2-core AMD EPYC at 190 GFLOP/s.
STEP_MODEL = DATA / "records_step_model"
HELD_OUT = {((784, 1024, 1024, 10), 256), ((64, 64, 10), 16)}
# per epoch, per step, per layer, per weighted FLOP
TRUTH = {"torch": (2e-3, 3e-4, 5e-5, 1 / 60e9), "numpy": (1e-4, 2e-5, 2e-5, 1 / 20e9)}


def _run(impl: str, sizes: tuple[int, ...], batch: int, seed: int = 0, n_train: int = 1280) -> RunRecord:
    """A run whose steps cost exactly ``TRUTH[impl]`` (epochs 2% apart), its epoch setup 1 ms."""
    network = step_model.Network(sizes, batch, -(-n_train // batch))
    step = float(network.terms(step_model.M_HALF) @ np.array(TRUTH[impl]))
    steps = network.steps_per_epoch
    config = {
        "n_features": sizes[0],
        "hidden": list(sizes[1:-1]),
        "n_classes": sizes[-1],
        "batch_size": batch,
    }
    return RunRecord(
        task="mnist1d",
        impl=impl,
        framework=impl,
        device="cpu",
        seed=seed,
        config=config,
        steps_per_epoch=steps,
        n_train=n_train,
        n_test=50,
        train_flops_per_sample=6 * sizes[1],
        timings=Timings(
            first_epoch_s=1.0,
            epoch_s=[steps * step * w + 1e-3 for w in (1.0, 1.02, 0.98)],
            epoch_setup_s=[1e-3] * 4,
        ),
    )


NETWORKS = [
    ((40, 64, 10), 64),
    ((64, 128, 128, 128, 10), 32),
    ((40, 64, 64, 10), 128),
    ((40, 1024, 1024, 10), 128),
    ((40, 64, 64, 10), 16),
    ((40, 256, 256, 10), 100),
    ((4, 32, 32, 3), 16),
    ((784, 512, 256, 10), 128),
]


def test_the_model_finds_the_terms_its_networks_were_made_from() -> None:
    records = [
        _run(impl, sizes, batch, seed) for impl in TRUTH for sizes, batch in NETWORKS for seed in (0, 1)
    ]
    fits = step_model.fit(records, resamples=100)
    torch = fits[("torch", "default", "cpu")]
    assert torch.fitted and len(torch.points) == len(NETWORKS)
    assert [torch.epoch_s, torch.dispatch_s, torch.layer_s, torch.product_s] == pytest.approx(
        TRUTH["torch"], rel=0.03
    )
    assert torch.overhead_s == pytest.approx(1e-3)  # the epoch setup, apart from the steps
    wide = step_model.Network((784, 2048, 10), 64, 100)
    low, high = torch.interval(wide)
    assert low < torch.step_s(wide) < high
    assert max(abs(e) for e in torch.left_out) < 0.03  # each network left out: predicted by the rest
    few = step_model.fit([_run("torch", s, b) for s, b in NETWORKS[:5]])[("torch", "default", "cpu")]
    assert not few.fitted  # five networks: four terms and one network to check them against


def test_where_two_implementations_change_places_along_a_network_widened() -> None:
    records = [_run(impl, sizes, batch) for impl in TRUTH for sizes, batch in NETWORKS]
    fits = step_model.fit(records, resamples=10)
    torch, numpy = fits[("torch", "default", "cpu")], fits[("numpy", "default", "cpu")]
    path = [step_model.widened(step_model.Network((40, 1, 1, 10), 100, 35), w) for w in range(1, 4097)]
    where = step_model.crossover(numpy, torch, path)
    assert where is not None and numpy.step_s(path[where - 1]) < torch.step_s(path[where - 1])
    assert numpy.step_s(path[where]) > torch.step_s(path[where])
    assert step_model.crossover(numpy, torch, path[:where]) is None  # numpy faster all along


def _measured(records: list[RunRecord]) -> dict[tuple[str, step_model.Network], float]:
    """Each held-out network's measured step per implementation: the median of its seeds'."""
    found: dict[tuple[str, step_model.Network], list[float]] = {}
    for record in records:
        network = step_model.Network.of(record)
        if (network.sizes, network.batch_size) in HELD_OUT:
            found.setdefault((record.impl, network), []).append(derived.step_time_s(record))
    return {key: float(np.median(steps)) for key, steps in found.items()}


def test_fitted_to_the_default_bench_networks_it_predicts_two_it_never_saw() -> None:
    """Real records: fitted to the seven networks the default bench runs, within 25% of the
    wide MNIST network at batch 256 and the tiny digits one at batch 16 for all nine
    implementations (23% at worst, 17 of 18 within 20%), each inside its interval; the line in
    FLOPs it replaced missed them by up to 2.4x."""
    records, _ = load(STEP_MODEL)
    fitted_on = [
        r for r in records if (step_model.Network.of(r).sizes, r.config["batch_size"]) not in HELD_OUT
    ]
    fits = step_model.fit(fitted_on, resamples=100)
    measured = _measured(records)
    assert len(measured) == 18
    for (impl, network), step in measured.items():
        fit = fits[(impl, "default", "cpu")]
        assert fit.fitted and len(fit.points) == 7
        assert fit.step_s(network) / step - 1 == pytest.approx(0, abs=0.25), (impl, network)
        low, high = fit.interval(network)
        assert low <= step <= high, (impl, network)


def _predict(results: Path, *extra: str) -> int:
    return main(["predict", "--results", str(results), "--machine", "vm-bece972f", *extra])


def test_predict_answers_for_a_network_never_run_and_says_what_it_cannot(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    shutil.copytree(STEP_MODEL / "runs", tmp_path / "runs")
    mnist = ["--task", "mnist", "--set", "hidden=[2048,2048]", "--set", "batch_size=512"]  # --set twice: both
    assert _predict(tmp_path, *mnist) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(
        "mnist 784-2048-2048-10, batch 512: 1.62e+04 MFLOP per step, 98 steps per epoch"
    )
    torch = next(line for line in lines if line.startswith("torch "))
    assert " per step [" in torch and " epoch setup  (" in torch and " per epoch in its steps, " in torch
    assert "GFLOP/s when large; fitted to 9 networks" in torch  # the held-out two are in this run set
    assert torch.endswith(
        "extrapolated: 6.77x the largest network measured; batch 512, outside the batches measured (16-256))"
    )
    assert lines[-1].startswith("The intervals are the fit's noise widened by its error at its own networks.")
    assert _predict(tmp_path, "--task", "iris", "--set", "hidden=[]", "--impl", "torch") == 0
    assert "0 hidden layer(s), where the networks measured have 1 or 2)" in capsys.readouterr().out
    # four networks (the four tasks' own): too few, and the command that adds the others
    shutil.copytree(DATA / "records_default" / "runs", tmp_path / "default" / "runs")
    args = ["predict", "--results", str(tmp_path / "default"), "--machine", "vm-e49dfab3", "--impl", "torch"]
    assert main([*args, "--task", "digits"]) == 3
    err = capsys.readouterr().err
    assert "torch: networks measured: 4 (iris 32-32 b16, digits 256-128 b64, " in err
    assert (
        f"python -m harness run --suite costs --impl torch --mode default --results {tmp_path / 'default'}"
        in err
    )
    assert _predict(tmp_path, *mnist[:4], "--device", "gpu", "--impl", "torch") == 3
    assert "torch: networks measured: none;" in capsys.readouterr().err
    assert _predict(tmp_path, "--task", "cifar") == 2
    err = capsys.readouterr().err
    assert "cifar" in err and "iris" in err  # the valid tasks listed
