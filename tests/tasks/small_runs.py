"""The real runs the task tests share (fixtures in conftest.py). ``small_tasks``: every
implementation on iris (and, with ``--runslow``, digits), three seeds, each run from its first epoch
to its last and no A/A twin: what the accuracy tests need, at the least cost (iris alone is half
of the two: digits' twenty epochs of 17 steps cost as much as iris' sixty of 6).
``interleaved_mnist1d`` (slow tests only: thirty epochs of mnist1d cost as much again): mnist1d in
blocks of three epochs per round with its twin, whose records give mnist1d's accuracy and what the
schedule does to each implementation."""

from __future__ import annotations

from pathlib import Path

from harness.cli.main import main
from harness.record.schema import RunRecord
from harness.store import runs as store

SEEDS = 3
EPOCHS_PER_ROUND = 3
WHOLE = 1000  # epochs per round above any task's epochs: each run from its first epoch to its last
# (task, minimum mean test accuracy, spec overrides); mnist is slow on 2 CPU cores.
MNIST1D = ("mnist1d", 0.60, {"epochs": 30})
SMALL = [("iris", 0.93, {})]  # the lab's task: in every test run
DIGITS = ("digits", 0.96, {})  # with --runslow


def suite_text(bars: list[tuple[str, float, dict]], interleaved: bool = False) -> str:
    """A suite of every implementation on ``bars``' tasks, ``SEEDS`` seeds; ``interleaved``: in
    blocks of ``EPOCHS_PER_ROUND`` epochs with an A/A twin, else each run whole and no twin."""
    text = f"step_samples = 0\neval_repeats = 1\nseeds = {list(range(SEEDS))}\n"
    text += (
        f"epochs_per_round = {EPOCHS_PER_ROUND}\n"
        if interleaved
        else f'epochs_per_round = {WHOLE}\ntwin = ""\n'
    )
    for task, _, overrides in bars:
        spec = ", ".join(f"{k} = {v}" for k, v in overrides.items())
        text += f'[[runs]]\ntasks = ["{task}"]\nimpls = ["*"]\nspec = {{ {spec} }}\n'
    return text


def run_suite(
    folder: Path, bars: list[tuple[str, float, dict]], interleaved: bool = False
) -> list[RunRecord]:
    """Run the suite of ``bars`` into ``folder``; its records."""
    suite = folder / "accuracy.toml"
    suite.write_text(suite_text(bars, interleaved))
    # no calibration: what these runs are for is accuracy and the schedule's ratios, not efficiency
    assert main(["run", "--suite", str(suite), "--results", str(folder / "results"), "--no-calibrate"]) == 0
    return store.load(folder / "results")[0]
