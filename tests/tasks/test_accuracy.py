"""Every implementation learns each task: mean test accuracy over 3 seeds reaches the bar, and the
implementations agree with each other within their seed-to-seed spread. Real training, real workers."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from harness import cli
from harness.spec import registry
from harness.store import runs as store

IMPLS = [name for name, info in registry.implementations().items() if info.unavailable_reason() is None]
SEEDS = 3
# (task, minimum mean test accuracy, spec overrides); mnist is slow on 2 CPU cores.
BARS = [
    ("iris", 0.93, {}),
    ("digits", 0.96, {}),
    ("mnist1d", 0.60, {"epochs": 30}),
    pytest.param("mnist", 0.975, {"epochs": 10}, marks=pytest.mark.slow),
]


def _suite(task: str, overrides: dict) -> str:
    spec = ", ".join(f"{k} = {v}" for k, v in overrides.items())
    return (
        f"step_samples = 0\neval_repeats = 1\nseeds = {list(range(SEEDS))}\n"
        f'[[runs]]\ntasks = ["{task}"]\nimpls = ["*"]\nspec = {{ {spec} }}\n'
    )


@pytest.mark.parametrize(("task", "bar", "overrides"), BARS)
def test_accuracy_bar_and_agreement(tmp_path: Path, task: str, bar: float, overrides: dict) -> None:
    suite = tmp_path / f"accuracy-{task}.toml"
    suite.write_text(_suite(task, overrides))
    assert cli.main(["run", "--suite", str(suite), "--results", str(tmp_path / "results")]) == 0
    records, _ = store.load(tmp_path / "results")
    by_impl: dict[str, list[float]] = {impl: [] for impl in IMPLS}
    for record in records:
        assert record.status == "ok", f"{record.impl}: {record.reason}"
        by_impl[record.impl].append(record.test_accuracy)
    n_test = records[0].n_test
    for impl, accs in by_impl.items():
        assert len(accs) == SEEDS
        assert np.mean(accs) >= bar, f"{impl} reached {np.mean(accs):.4f} < {bar} on {task}: {accs}"
    for a, b in itertools.combinations(IMPLS, 2):
        xa, xb = np.asarray(by_impl[a]), np.asarray(by_impl[b])
        spread = 2 * np.sqrt(xa.var(ddof=1) / SEEDS + xb.var(ddof=1) / SEEDS) + 2 / n_test
        assert abs(xa.mean() - xb.mean()) <= spread, f"{a} {xa} vs {b} {xb} disagree beyond their spread"
