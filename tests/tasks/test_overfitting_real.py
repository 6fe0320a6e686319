"""The overfitting analysis on real runs through the runner: two layers of 256 on a quarter of mnist1d
overfits, the detector sees it, and dropout narrows the gap. JAX only (fastest import); ~15 s."""

from __future__ import annotations

import numpy as np
import pytest

from harness.cli.main import main
from harness.record import derived
from harness.record.schema import RunRecord
from harness.store import runs as store

SUITE = """
seeds = [0, 1]
threads = 1
step_samples = 2
eval_repeats = 1
timeout_s = 120
track_test = true
[[runs]]
tasks = ["mnist1d"]
impls = ["jax"]
spec = { epochs = 30, train_fraction = 0.25, hidden = [256, 256] }
[[runs]]
tasks = ["mnist1d"]
impls = ["jax"]
spec = { epochs = 30, train_fraction = 0.25, hidden = [256, 256], dropout = 0.5 }
"""
MARGIN = 0.05  # dropout must narrow the final train - val accuracy gap by at least 5 pp


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> list[RunRecord]:
    tmp = tmp_path_factory.mktemp("overfitting")
    (tmp / "overfit.toml").write_text(SUITE)
    argv = ["run", "--suite", str(tmp / "overfit.toml"), "--results", str(tmp / "results"), "--no-calibrate"]
    assert main(argv) == 0
    loaded, skipped = store.load(tmp / "results")
    assert skipped == [] and len(loaded) == 4
    return loaded


def _split(records: list[RunRecord]) -> tuple[list[RunRecord], list[RunRecord]]:
    plain = [r for r in records if r.config["dropout"] == 0.0]
    cured = [r for r in records if r.config["dropout"] == 0.5]
    assert len(plain) == len(cured) == 2
    return plain, cured


def test_every_run_is_analysed_with_per_epoch_test_accuracy(records: list[RunRecord]) -> None:
    for record in records:
        result = derived.overfitting_of(record)
        assert record.status == "ok" and result["epochs"] == 30
        assert len(record.curves.test_accuracy) == 30
        assert record.curves.test_accuracy[-1] == pytest.approx(record.test_accuracy, abs=1e-6)
        assert 0.0 < result["early_stopping"]["test_accuracy"] < 1.0


def test_detector_finds_an_onset_without_a_cure(records: list[RunRecord]) -> None:
    plain, _ = _split(records)
    for record in plain:
        result = derived.overfitting_of(record)
        assert result["onset_epoch"] is not None and 1 <= result["onset_epoch"] < 25
        assert record.curves.train_accuracy[-1] > 0.95  # it memorised the training set


def test_dropout_narrows_the_gap(records: list[RunRecord]) -> None:
    plain, cured = _split(records)
    gap = {
        name: np.mean([derived.overfitting_of(r)["gap_final"]["accuracy_gap"] for r in group])
        for name, group in (("plain", plain), ("dropout", cured))
    }
    assert gap["dropout"] < gap["plain"] - MARGIN, gap
