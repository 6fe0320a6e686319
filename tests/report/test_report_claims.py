"""No claim beyond the data: an accuracy difference between implementations needs two seeds or
more, and a compile overhead is shown only where a fresh worker measured it."""

from __future__ import annotations

import math

import pandas as pd

from harness.report.sections import modes, narrative


def _stats(n_seeds: int) -> pd.DataFrame:
    rows = [("jax", 1.00, 1.00, 1.00), ("torch", 0.9333, 0.93, 0.94)]
    return pd.DataFrame(
        [
            {"label": label, "device": "cpu", "test_accuracy": acc, "test_accuracy_lo": lo,
             "test_accuracy_hi": hi, "test_accuracy_n": n_seeds}
            for label, acc, lo, hi in rows
        ]
    )  # fmt: skip


def test_one_seed_is_not_compared_and_two_are() -> None:
    (one,) = narrative.accuracy_sentences(_stats(1))
    assert "(100.00%, one seed); one seed: the implementations' accuracies are not compared" in one
    assert "is lower" not in one
    assert not narrative.accuracies_agree(_stats(1))  # nor said to agree
    (three,) = narrative.accuracy_sentences(_stats(3))
    assert "mean of 3 seeds" in three and "torch on cpu is lower" in three


def test_compile_overhead_only_from_a_fresh_worker() -> None:
    base = {"impl": "torch", "mode": "compile", "step_s": 1e-3, "n_ok": 1, "n_runs": 1}
    stale = pd.Series(base | {"first_epoch_s": 0.05, "fresh_first_epoch_s": math.nan, "steady_epoch_s": 0.05})
    assert modes._row(stale, None, stale, None)["overhead"] == modes.NOT_MEASURED
    fresh = pd.Series(base | {"first_epoch_s": 2.05, "fresh_first_epoch_s": 2.05, "steady_epoch_s": 0.05})
    assert modes._row(fresh, None, fresh, None)["overhead"] == "2.00 s"
