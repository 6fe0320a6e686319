"""The real runs the task tests share (the ``small_tasks`` fixture in conftest.py): every
implementation on the three small tasks, three seeds, in one harness run (one import per
framework), interleaved in blocks of three epochs per round so that the same records also measure
what the schedule does to each implementation."""

from __future__ import annotations

from pathlib import Path

from harness import cli
from harness.record.schema import RunRecord
from harness.store import runs as store

SEEDS = 3
EPOCHS_PER_ROUND = 3
# (task, minimum mean test accuracy, spec overrides); mnist is slow on 2 CPU cores.
BARS = [("iris", 0.93, {}), ("digits", 0.96, {}), ("mnist1d", 0.60, {"epochs": 30})]


def suite_text(bars: list[tuple[str, float, dict]]) -> str:
    """A suite of every implementation on ``bars``' tasks, ``SEEDS`` seeds, blocks of epochs."""
    text = f"step_samples = 0\neval_repeats = 1\nseeds = {list(range(SEEDS))}\n"
    text += f"epochs_per_round = {EPOCHS_PER_ROUND}\n"
    for task, _, overrides in bars:
        spec = ", ".join(f"{k} = {v}" for k, v in overrides.items())
        text += f'[[runs]]\ntasks = ["{task}"]\nimpls = ["*"]\nspec = {{ {spec} }}\n'
    return text


def run_suite(folder: Path, bars: list[tuple[str, float, dict]]) -> list[RunRecord]:
    """Run the suite of ``bars`` into ``folder``; its records."""
    suite = folder / "accuracy.toml"
    suite.write_text(suite_text(bars))
    assert cli.main(["run", "--suite", str(suite), "--results", str(folder / "results")]) == 0
    return store.load(folder / "results")[0]
