"""Overfitting analysis of one run's per-epoch curves: pure functions on lists of floats.

Epochs are numbered from 1 (epoch ``e`` is list index ``e - 1``). Every function takes the curves
as recorded in :class:`harness.record.schema.Curves` (train/validation loss and accuracy evaluated
with dropout off after each epoch; test accuracy per epoch only when the run asked for it).

Definitions
-----------
best epoch
    The epoch of the lowest validation loss (the first one on ties). ``val_accuracy`` there is
    reported beside it.

generalization gap
    ``accuracy_gap = train_accuracy - val_accuracy`` and ``loss_gap = val_loss - train_loss``,
    each at the last epoch (``final``) and at the best epoch (``best``).

overfitting onset (``patience`` P, relative tolerance ``min_delta`` d)
    Let ``v`` be the validation loss and ``t`` the training loss, both optionally smoothed by a
    centred moving average over ``smooth_epochs`` epochs (1: no smoothing). The rise is
    *detected* at the first epoch ``k > P`` such that

    1. each of the last P epochs is clearly worse than everything before them:
       ``min(v_{k-P+1} .. v_k) > (1 + d) * M`` with ``M = min(v_1 .. v_{k-P})``;
    2. the training loss still fell meanwhile: ``t_k < t_e``, where ``e`` is the epoch of ``M``
       (the first one on ties).

    The *onset* is that ``e``: the last epoch at the validation minimum before the sustained
    rise, where early stopping would have kept the weights; after it the validation loss never
    goes below ``M`` again up to ``k``. Condition 1 compares the *minimum* of the window with the
    tolerance, so a noisy plateau whose epoch-to-epoch noise stays within ``d`` of its lowest
    value is never an onset, and a slow (e.g. quadratic) rise is found once it has cleared the
    tolerance for P epochs. Condition 2 separates overfitting (fitting the training set better
    while validation gets worse) from a run that gets worse everywhere (a learning rate too
    high). A later recovery (double descent) does not cancel an onset. With fewer than
    ``P + 1`` epochs no onset can be seen: ``None`` with the reason.

early stopping (Keras ``EarlyStopping(monitor="val_loss", patience=P, restore_best_weights=True)``)
    Going through the epochs, an epoch *improves* when ``v_e < best * (1 - d)`` (the first epoch
    always improves), and ``best`` becomes ``v_e``. Training stops at the epoch where P epochs
    in a row did not improve, i.e. at ``last_improving_epoch + P``; the weights of the last
    improving epoch are restored (Keras 3 also restores them when training ends without
    stopping). ``d`` is *relative* here, where Keras' ``min_delta`` is absolute: Keras'
    behaviour with ``min_delta = d * best``; with ``d = 0`` the two are the same. Reported: the
    stop epoch (``None`` when patience never ran out), the restored epoch, the validation
    accuracy and accuracy gap there, the last epoch's validation accuracy, and the same for test
    accuracy when the curves has it per epoch (otherwise only the final test accuracy of the
    run is known, so the test accuracy the early-stopped model would have had is ``None``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from harness.record.schema import Curves

DEFAULT_PATIENCE = 5
DEFAULT_MIN_DELTA = 0.01  # 1% of the best validation loss: above the epoch-to-epoch noise on mnist1d


@dataclass(frozen=True)
class Onset:
    """The onset epoch (1-based) and the epoch the rise was detected, or ``None`` and why."""

    epoch: int | None
    detected_epoch: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class EarlyStop:
    """Where Keras-style early stopping would have stopped and which epoch's weights it keeps."""

    stopped_epoch: int | None  # None: patience never ran out before the last epoch
    restored_epoch: int
    epochs_trained: int
    val_accuracy: float
    val_accuracy_final: float
    accuracy_gap: float  # train minus validation accuracy at the restored epoch
    test_accuracy: float | None = None
    test_accuracy_final: float | None = None


def _check(*curves: Sequence[float]) -> str:
    """Why these curves cannot be analysed, or ``""``."""
    lengths = {len(c) for c in curves}
    if len(lengths) != 1:
        return f"curves have different lengths {sorted(lengths)}"
    if not all(isinstance(v, int | float) and math.isfinite(v) for c in curves for v in c):
        return "curves hold missing or non-finite values"
    return ""


def smooth(values: Sequence[float], window_epochs: int) -> list[float]:
    """Centred moving average over ``window_epochs`` (shrinking at the ends); 1 returns a copy."""
    if window_epochs < 1:
        raise ValueError(f"window_epochs must be >= 1, got {window_epochs}")
    half = window_epochs // 2
    out = []
    for i in range(len(values)):
        part = values[max(0, i - half) : i + half + 1]
        out.append(sum(part) / len(part))
    return out


def best_epoch(val_loss: Sequence[float]) -> int:
    """The 1-based epoch of the lowest validation loss (the first on ties); needs one epoch."""
    if not val_loss:
        raise ValueError("best_epoch needs at least one epoch")
    return min(range(len(val_loss)), key=lambda i: (val_loss[i], i)) + 1


def gaps(curves: Curves, epoch: int) -> dict[str, float]:
    """Train minus validation accuracy and validation minus train loss at 1-based ``epoch``."""
    i = epoch - 1
    return {
        "accuracy_gap": curves.train_accuracy[i] - curves.val_accuracy[i],
        "loss_gap": curves.val_loss[i] - curves.train_loss[i],
    }


def onset(
    train_loss: Sequence[float],
    val_loss: Sequence[float],
    patience: int = DEFAULT_PATIENCE,
    min_delta: float = DEFAULT_MIN_DELTA,
    smooth_epochs: int = 1,
) -> Onset:
    """The overfitting onset epoch by the rule in the module docstring, or ``None`` and why."""
    if patience < 1 or min_delta < 0:
        raise ValueError(f"need patience >= 1 and min_delta >= 0, got {patience}, {min_delta}")
    problem = _check(train_loss, val_loss)
    if problem:
        return Onset(None, reason=problem)
    if len(val_loss) < patience + 1:
        return Onset(None, reason=f"curve too short: {len(val_loss)} epochs, need at least {patience + 1}")
    t, v = smooth(train_loss, smooth_epochs), smooth(val_loss, smooth_epochs)
    rose_without_training_progress = False
    for k in range(patience + 1, len(v) + 1):
        e = best_epoch(v[: k - patience])
        if min(v[k - patience : k]) <= (1 + min_delta) * v[e - 1]:
            continue
        if t[k - 1] < t[e - 1]:
            return Onset(e, detected_epoch=k)
        rose_without_training_progress = True
    if rose_without_training_progress:
        return Onset(None, reason="validation loss rose, but training loss did not fall meanwhile")
    never = f"validation loss never stayed more than {min_delta:.0%} above its minimum for {patience} epochs"
    return Onset(None, reason=never)


def early_stop(
    curves: Curves, patience: int = DEFAULT_PATIENCE, min_delta: float = DEFAULT_MIN_DELTA
) -> EarlyStop:
    """Keras-style early stopping on validation loss, replayed on the curves (module docstring)."""
    v = curves.val_loss
    if not v:
        raise ValueError("early_stop needs at least one epoch")
    best, restored, wait, stopped = math.inf, 1, 0, None
    for epoch, loss in enumerate(v, start=1):
        wait += 1
        if loss < best * (1 - min_delta) or epoch == 1:
            best, restored, wait = loss, epoch, 0
        elif wait >= patience:
            stopped = epoch
            break
    tests = curves.test_accuracy
    per_epoch_test = len(tests) == len(v)
    return EarlyStop(
        stopped_epoch=stopped,
        restored_epoch=restored,
        epochs_trained=stopped or len(v),
        val_accuracy=curves.val_accuracy[restored - 1],
        val_accuracy_final=curves.val_accuracy[-1],
        accuracy_gap=gaps(curves, restored)["accuracy_gap"],
        test_accuracy=tests[restored - 1] if per_epoch_test else None,
        test_accuracy_final=tests[-1] if per_epoch_test else None,
    )


def analyse(
    curves: Curves,
    patience: int = DEFAULT_PATIENCE,
    min_delta: float = DEFAULT_MIN_DELTA,
    smooth_epochs: int = 1,
) -> dict[str, Any]:
    """Everything above as a JSON-ready dict (what :func:`harness.record.derived.overfitting_of`
    gives a record), parameters included; ``{"reason": ...}`` with the parameters when the
    curves cannot be analysed."""
    h = curves
    params = {"patience": patience, "min_delta": min_delta, "smooth_epochs": smooth_epochs}
    problem = _check(h.train_loss, h.train_accuracy, h.val_loss, h.val_accuracy) or (
        "no epochs" if not h.val_loss else ""
    )
    if problem:
        return {"params": params, "reason": problem}
    best = best_epoch(h.val_loss)
    found = onset(h.train_loss, h.val_loss, patience, min_delta, smooth_epochs)
    return {
        "params": params,
        "epochs": len(h.val_loss),
        "best_epoch": best,
        "best_val_accuracy": h.val_accuracy[best - 1],
        "gap_final": gaps(h, len(h.val_loss)),
        "gap_best": gaps(h, best),
        "onset_epoch": found.epoch,
        "onset_detected_epoch": found.detected_epoch,
        "onset_reason": found.reason,
        "early_stopping": asdict(early_stop(h, patience, min_delta)),
    }
