"""Every implementation learns each task: mean test accuracy over 3 seeds reaches the bar, and the
implementations agree with each other within their seed-to-seed spread. Real training, real
workers: iris in one run (one import per framework); digits (in the same run), mnist1d (from the
interleaved runs the schedule tests share) and MNIST are slow tests, opt-in (``--runslow``).

Agreement is every pair of implementations at once, so it is judged as one family: the seed-to-seed
spread is pooled over all implementations (the same network and data: the spread is one quantity,
and three seeds alone estimate it badly), and the per-pair limit is Bonferroni-corrected so that the
whole family of comparisons fails by chance less than once in a hundred runs of this test."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from harness.plugins import registry
from harness.record.derived import is_twin
from harness.record.schema import RunRecord
from tests.tasks.small_runs import DIGITS, MNIST1D, SEEDS, SMALL, run_suite

IMPLS = [name for name, info in registry.implementations().items() if info.unavailable_reason() is None]
MNIST = ("mnist", 0.975, {"epochs": 10})
FAMILY_ALPHA = 0.01  # chance that any pair of correct implementations is called apart


def _check(records: list[RunRecord], task: str, bar: float) -> None:
    mine = [r for r in records if r.task == task and not is_twin(r)]  # a twin repeats a run
    by_impl: dict[str, list[float]] = {impl: [] for impl in IMPLS}
    for record in mine:
        assert record.status == "ok", f"{record.impl}: {record.reason}"
        by_impl[record.impl].append(record.test_accuracy)
    n_test = mine[0].n_test
    for impl, accs in by_impl.items():
        assert len(accs) == SEEDS
        assert np.mean(accs) >= bar, f"{impl} reached {np.mean(accs):.4f} < {bar} on {task}: {accs}"
    groups = [np.asarray(by_impl[impl]) for impl in IMPLS]
    df = sum(len(g) - 1 for g in groups)
    pooled_sd = np.sqrt(sum(((g - g.mean()) ** 2).sum() for g in groups) / df)
    pairs = len(IMPLS) * (len(IMPLS) - 1) // 2
    t = stats.t.ppf(1 - FAMILY_ALPHA / (2 * pairs), df)
    # one test example either way is within agreement whatever the spread (accuracy is discrete)
    limit = t * pooled_sd * np.sqrt(2 / SEEDS) + 2 / n_test
    for a, b in itertools.combinations(IMPLS, 2):
        gap = abs(np.mean(by_impl[a]) - np.mean(by_impl[b]))
        assert gap <= limit, (
            f"{a} {by_impl[a]} vs {b} {by_impl[b]} on {task}: means {gap:.4f} apart, beyond {limit:.4f} "
            f"(pooled seed sd {pooled_sd:.4f}, t {t:.2f} for {pairs} pairs)"
        )


@pytest.mark.parametrize(
    ("task", "bar"),
    [(task, bar) for task, bar, _ in SMALL] + [pytest.param(DIGITS[0], DIGITS[1], marks=pytest.mark.slow)],
)
def test_accuracy_bar_and_agreement(small_tasks: list[RunRecord], task: str, bar: float) -> None:
    _check(small_tasks, task, bar)


@pytest.mark.slow
def test_mnist1d_accuracy_bar_and_agreement(interleaved_mnist1d: list[RunRecord]) -> None:
    _check(interleaved_mnist1d, MNIST1D[0], MNIST1D[1])


@pytest.mark.slow
def test_mnist_accuracy_bar_and_agreement(tmp_path: Path) -> None:
    _check(run_suite(tmp_path, [MNIST]), MNIST[0], MNIST[1])
