"""The schedule-sensitivity decision (:func:`harness.compare.paired.schedule_slows`) on per-round
ratios of known shape: noise that straddles 1 does not fail it, the stalls it is for do."""

from __future__ import annotations

import numpy as np

from harness.compare.paired import SENSITIVITY_LIMIT, schedule_sensitivity, schedule_slows

# The rounds that failed CI under the old rule (estimate above the limit): Keras on mnist1d,
# three seeds of nine rounds, median 1.02.
CI_ROUNDS = [
    [2.397, 0.618, 0.978, 1.419, 0.996, 2.468, 0.937, 0.574, 1.338],
    [1.010, 1.004, 2.029, 1.959, 1.295, 0.657, 1.020, 0.694, 0.947],
    [2.029, 0.598, 1.763, 1.009, 1.995, 1.386, 2.113, 0.674, 1.100],
]


def _runs(rounds: list[list[float]]) -> list[dict[int, float]]:
    return [dict(enumerate(r, start=1)) for r in rounds]


def test_noise_that_straddles_one_is_not_a_slowdown() -> None:
    found = schedule_sensitivity(_runs(CI_ROUNDS))
    assert found is not None and found.estimate > SENSITIVITY_LIMIT  # the old rule failed here
    assert not schedule_slows(found), found


def test_stalls_after_some_pauses_are_a_slowdown() -> None:
    """Keras on TensorFlow's fault: after four pauses in ten, a stall of 2-10x."""
    rng = np.random.default_rng(1)
    rounds = []
    for _ in range(3):
        r = rng.lognormal(0.0, 0.1, 9)
        stalled = rng.choice(9, 4, replace=False)
        r[stalled] *= rng.uniform(2, 10, 4)
        rounds.append(list(r))
    found = schedule_sensitivity(_runs(rounds))
    assert found is not None and schedule_slows(found), found


def test_a_steady_half_again_is_a_slowdown_and_none_is_not() -> None:
    rng = np.random.default_rng(2)
    slow = [list(1.5 * rng.lognormal(0.0, 0.1, 9)) for _ in range(3)]
    fine = [list(rng.lognormal(0.0, 0.1, 9)) for _ in range(3)]
    assert schedule_slows(schedule_sensitivity(_runs(slow)))
    assert not schedule_slows(schedule_sensitivity(_runs(fine)))
