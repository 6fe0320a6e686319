"""Where a step's time goes: a line per implementation through its networks (a fixed cost per step
and a cost per FLOP), its interval, where two lines cross, and ``harness predict`` reading a run set
(tests/data/records_default) for a network it never ran."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.plan import step_model
from harness.record.schema import RunRecord, Timings

DEFAULT_BENCH = Path(__file__).parents[1] / "data" / "records_default"


def _run(impl: str, task: str, flops_per_sample: int, step_s: float, seed: int = 0) -> RunRecord:
    epochs = [10 * step_s * w for w in (1.0, 1.02, 0.98, 1.01, 0.99)]
    return RunRecord(task=task, impl=impl, framework=impl, device="cpu", seed=seed, steps_per_epoch=10,
                     n_train=100, n_test=50, train_flops_per_sample=flops_per_sample,
                     timings=Timings(first_epoch_s=1.0, epoch_s=epochs))  # fmt: skip


def test_a_line_through_the_networks_and_where_two_lines_cross() -> None:
    """torch: 0.5 ms + 1e-11 s/FLOP; numpy: 0.1 ms + 4e-11 s/FLOP: they cross at 1.33e7 FLOPs."""
    records = []
    for task, flops in (("iris", 10_000), ("digits", 100_000), ("mnist", 10_000_000)):
        step_flops = flops * 10  # 100 samples, 10 steps
        records += [_run("torch", task, flops, 5e-4 + step_flops * 1e-11, s) for s in (0, 1)]
        records += [_run("numpy", task, flops, 1e-4 + step_flops * 4e-11, s) for s in (0, 1)]
    fits = step_model.fit(records, resamples=100)
    torch, numpy = fits[("torch", "default", "cpu")], fits[("numpy", "default", "cpu")]
    assert torch.fitted and torch.dispatch_s == pytest.approx(5e-4, rel=0.02)
    assert torch.flop_s == pytest.approx(1e-11, rel=0.02)
    low, high = torch.interval(1e9)
    assert low < torch.step_s(1e9) < high
    assert step_model.crossover(torch, numpy) == pytest.approx(4e-4 / 3e-11, rel=0.05)
    lone = step_model.fit([_run("jax", "iris", 10_000, 1e-4)])[("jax", "default", "cpu")]
    assert not lone.fitted  # one network size: a point, not a line


def test_predict_answers_for_a_network_never_run_and_says_what_it_cannot(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    shutil.copytree(DEFAULT_BENCH / "runs", tmp_path / "runs")
    args = [
        "predict",
        "--results",
        str(tmp_path),
        "--task",
        "mnist",
        "--set",
        "hidden=[1024,1024]",
        "--set",
        "batch_size=256",
        "--machine",
        "vm-e49dfab3",
    ]  # fmt: skip (--set twice: both kept)
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("mnist 784-1024-1024-10, batch 256: 2.44e+03 MFLOP per step")
    torch = next(line for line in lines if line.startswith("torch "))
    assert " per step [" in torch and "from iris, digits, mnist1d, mnist" in torch
    # 2.44 GFLOP a step against the largest measured, MNIST 512-256, at a batch none of them had
    assert torch.endswith(
        "; extrapolated: 7.93x the largest network measured"
        "; batch 256, outside the batches measured (16-128))"
    )
    assert lines[-1].startswith("The intervals are the fit's noise, not the model's own error")
    assert main([*args[:4], "iris", "--set", "hidden=[]", "--machine", "vm-e49dfab3", "--impl", "torch"]) == 0
    out = capsys.readouterr().out  # 720 FLOPs, iris' own 108 k; no hidden layer, the four tasks' two
    assert (
        "x below the smallest network measured; 0 hidden layer(s), where the networks measured have 2)" in out
    )
    # within the FLOPs measured, but one hidden layer: the depth the line's worst misses had
    assert (
        main([*args[:4], "digits", "--set", "hidden=[64]", "batch_size=16", "--machine", "vm-e49dfab3"]) == 0
    )
    out = capsys.readouterr().out
    assert (
        "extrapolated" not in out
        and out.count("; 1 hidden layer(s), where the networks measured have 2)") == 9
    )
    assert main([*args[:9], "--machine", "vm-e49dfab3", "--device", "gpu", "--impl", "torch"]) == 3
    assert "torch: too few network sizes to fit (has none)" in capsys.readouterr().err
    assert main(["predict", "--results", str(tmp_path), "--task", "cifar"]) == 2
    err = capsys.readouterr().err
    assert "cifar" in err and "iris" in err  # the valid tasks listed
