"""The overfitting analysis on synthetic curves whose answers are known by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.record import overfitting
from harness.record.schema import Curves


def _falling(n_epochs: int, start: float = 2.0, rate: float = 0.1) -> list[float]:
    return [start * float(np.exp(-rate * e)) for e in range(n_epochs)]


def _vee(n_epochs: int, best: int, slope: float = 0.05) -> list[float]:
    """Validation loss falling to 1.0 at 1-based epoch ``best``, then rising linearly."""
    return [1.0 + slope * abs(e - best) for e in range(1, n_epochs + 1)]


def _curves(val_loss: list[float], train_loss: list[float] | None = None, **more: list[float]) -> Curves:
    n_epochs = len(val_loss)
    train_loss = train_loss or _falling(n_epochs)
    return Curves(
        train_loss=train_loss,
        train_accuracy=more.get("train_accuracy", [0.5 + 0.5 * e / n_epochs for e in range(n_epochs)]),
        val_loss=val_loss,
        val_accuracy=more.get("val_accuracy", [0.4 + 0.01 * e for e in range(n_epochs)]),
        test_accuracy=more.get("test_accuracy", []),
    )


def test_known_onset_is_found_at_the_minimum() -> None:
    found = overfitting.onset(_falling(30), _vee(30, best=12), patience=5, min_delta=0.02)
    # the window of 5 must clear 1.02, so epoch 13 (1.05) qualifies: detected at 13 + 4 = 17
    assert found == overfitting.Onset(12, detected_epoch=17)


def test_slow_quadratic_rise_is_found_once_past_the_tolerance() -> None:
    val = [1.0 + 0.01 * (e - 10) ** 2 for e in range(1, 31)]
    found = overfitting.onset(_falling(30), val, patience=5, min_delta=0.02)
    # (e - 10)^2 > 2 from epoch 12; window 12..16 clears it, so detected at 16
    assert found.epoch == 10 and found.detected_epoch == 16


def test_monotone_curves_have_no_onset() -> None:
    found = overfitting.onset(_falling(40), _falling(40, start=2.5, rate=0.05))
    assert found.epoch is None and "never stayed" in found.reason


def test_noisy_plateau_within_tolerance_is_no_onset() -> None:
    rng = np.random.default_rng(7)
    min_delta = 0.05
    # falls towards a plateau of 1.0 with uniform noise of +-0.4 * min_delta: spread < min_delta * minimum
    val = _falling(10, start=2.0, rate=0.05) + list(1.0 + rng.uniform(-0.4, 0.4, 50) * min_delta)
    found = overfitting.onset(_falling(60), val, patience=3, min_delta=min_delta)
    assert found.epoch is None
    # the same noise three times larger does trip the detector: the tolerance is what protects
    loud = val[:10] + [1.0 + 3 * (v - 1.0) for v in val[10:]]
    assert overfitting.onset(_falling(60), loud, patience=1, min_delta=min_delta).epoch is not None


def test_rise_while_training_loss_also_rises_is_not_overfitting() -> None:
    val = _vee(30, best=10)
    train = [0.5 + 0.02 * abs(e - 10) for e in range(1, 31)]
    found = overfitting.onset(train, val, patience=5, min_delta=0.02)
    assert found.epoch is None and "training loss did not fall" in found.reason


@pytest.mark.parametrize("n_epochs", [0, 1, 5])
def test_too_short_curves_give_none_with_a_reason(n_epochs: int) -> None:
    found = overfitting.onset(_falling(n_epochs), _vee(n_epochs, best=1), patience=5)
    assert found.epoch is None and f"curve too short: {n_epochs} epochs, need at least 6" in found.reason


def test_non_finite_or_mismatched_curves_give_a_reason() -> None:
    assert "non-finite" in overfitting.onset([1.0, float("nan")], [1.0, 2.0], patience=1).reason
    assert "different lengths" in overfitting.onset([1.0], [1.0, 2.0], patience=1).reason


def test_smoothing_removes_zigzag_noise() -> None:
    # a plateau zigzagging +-2.5%: with patience 1 each high epoch is 5% above the previous low one
    val = _falling(10, start=2.0, rate=0.05) + [1.0 + 0.025 * (-1) ** e for e in range(30)]
    assert overfitting.onset(_falling(40), val, patience=1, min_delta=0.02).epoch == 12
    # averaged over 5 epochs the zigzag is +-0.5%, inside the 2% tolerance
    assert overfitting.onset(_falling(40), val, patience=1, min_delta=0.02, smooth_epochs=5).epoch is None


def test_early_stopping_matches_a_hand_computation() -> None:
    # an improvement needs v < 0.9 * best: e1 (first), e3 (0.85 < 0.9); e2 (0.9), e4 (0.8 > 0.765)
    # and e5 are not, so after e3 the wait runs 1, 2, 3 and training stops at e6 keeping e3, not
    # the lowest loss (e5): the tolerance decides what counts
    val_loss = [1.0, 0.9, 0.85, 0.8, 0.79, 0.9, 0.95, 1.0, 1.1]
    val_acc = [0.50, 0.55, 0.60, 0.62, 0.63, 0.61, 0.60, 0.58, 0.57]
    test_acc = [0.49, 0.54, 0.59, 0.61, 0.64, 0.60, 0.59, 0.57, 0.55]
    history = _curves(val_loss, val_accuracy=val_acc, test_accuracy=test_acc)
    stop = overfitting.early_stop(history, patience=3, min_delta=0.1)
    assert stop == overfitting.EarlyStop(
        stopped_epoch=6,
        restored_epoch=3,
        epochs_trained=6,
        val_accuracy=0.60,
        val_accuracy_final=0.57,
        accuracy_gap=pytest.approx(history.train_accuracy[2] - 0.60),
        test_accuracy=0.59,
        test_accuracy_final=0.55,
    )


def test_early_stopping_without_running_out_of_patience_keeps_training() -> None:
    stop = overfitting.early_stop(_curves(_falling(10)), patience=3, min_delta=0.0)
    assert stop.stopped_epoch is None and stop.restored_epoch == 10 and stop.epochs_trained == 10
    assert stop.test_accuracy is None  # no per-epoch test accuracy in this history


def test_analyse_is_json_ready_and_holds_gaps_and_parameters() -> None:
    val_loss = _vee(20, best=8)
    train_acc = [0.5 + 0.025 * e for e in range(20)]
    val_acc = [0.4 + 0.01 * e for e in range(20)]
    result = overfitting.analyse(
        _curves(val_loss, train_accuracy=train_acc, val_accuracy=val_acc), patience=4, min_delta=0.02
    )
    assert json.loads(json.dumps(result)) == result
    assert result["params"] == {"patience": 4, "min_delta": 0.02, "smooth_epochs": 1}
    assert result["best_epoch"] == 8 and result["best_val_accuracy"] == pytest.approx(0.47)
    assert result["gap_best"]["accuracy_gap"] == pytest.approx(0.675 - 0.47)
    assert result["gap_final"]["accuracy_gap"] == pytest.approx(0.975 - 0.59)
    assert result["gap_final"]["loss_gap"] == pytest.approx(1.6 - _falling(20)[-1])
    assert result["onset_epoch"] == 8 and result["early_stopping"]["restored_epoch"] == 8
    assert result["early_stopping"]["stopped_epoch"] == 12


def test_analyse_of_an_empty_history_says_why() -> None:
    result = overfitting.analyse(Curves())
    assert result["reason"] == "no epochs" and result["params"]["patience"] == overfitting.DEFAULT_PATIENCE
