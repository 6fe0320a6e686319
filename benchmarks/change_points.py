"""How the History listing's change points and drifts (:mod:`harness.compare.changes`) do on
synthetic series of known shape: steps found at their exact commit, drifts reported as drifts,
nothing listed on noise, quantised values, blips; short series (a step over six points, a step right
after a one-night spike); and the time a series of 365 nights takes.

    python benchmarks/change_points.py

Each line: the case, then how often the listing said what the series holds.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.compare.changes import segments  # noqa: E402

rng = np.random.default_rng(5)


def noisy(n, sd=0.03):
    return 0.002 * np.exp(rng.normal(0, sd, n))


def rate(f, n=100):
    return sum(f() for _ in range(n))


def step(n, k, f, sd=0.03):
    v = noisy(n, sd)
    v[k:] *= f
    return v


def spiked(n, k, sd=0.03):
    v = step(n, k, 1.1, sd)
    v[k - 1] *= 3.0
    return v


def main() -> None:
    print(
        "drift 120n 0.15%/n: as drift",
        rate(lambda: segments(noisy(120) * np.exp(0.0015 * np.arange(120)))[1] is not None, 50),
        "/50",
    )
    print(
        "drift 365n 0.05%/n: as drift",
        rate(lambda: segments(noisy(365) * np.exp(0.0005 * np.arange(365)))[1] is not None, 50),
        "/50",
    )

    print(
        "30% step at 10 of 16 (5% noise) exact",
        rate(lambda: segments(step(16, 10, 1.3, 0.05)) == ([10], None), 100),
        "/100",
    )
    print(
        "15% step at 20 of 40 exact",
        rate(lambda: segments(step(40, 20, 1.15)) == ([20], None), 100),
        "/100",
        "as drift",
        rate(lambda: segments(step(40, 20, 1.15))[1] is not None, 100),
    )
    print(
        "15% step at 180 of 365 exact",
        rate(lambda: segments(step(365, 180, 1.15)) == ([180], None), 50),
        "/50",
    )
    print(
        "two steps +15% at 100, -15% at 250 of 365",
        rate(
            lambda: (
                segments(np.concatenate([noisy(100), noisy(150) * 1.15, noisy(115)])) == ([100, 250], None)
            ),
            50,
        ),
        "/50",
    )
    print(
        "quantised none",
        rate(lambda: bool(segments(np.round(noisy(200, 0.01) / 0.00002) * 0.00002)[0]), 50),
        "/50 listed",
    )
    print(
        "repeated identical with rare jitter",
        rate(lambda: bool(segments(np.where(rng.random(300) < 0.1, 0.00204, 0.002))[0]), 50),
        "/50 listed",
    )
    print("noise 40 false", rate(lambda: segments(noisy(40)) != ([], None), 300), "/300")
    print("noise 12 5% false", rate(lambda: segments(noisy(12, 0.05)) != ([], None), 300), "/300")
    print("noise 365 false", rate(lambda: segments(noisy(365)) != ([], None), 100), "/100")
    print(
        "short: 5.6% step at 3 of 6 (1% noise) exact",
        rate(lambda: segments(step(6, 3, 0.944, 0.01)) == ([3], None), 100),
        "/100",
    )
    print(
        "short: +10% at 5 of 9 after a 3x night (1% noise) exact",
        rate(lambda: segments(spiked(9, 5, 0.01)) == ([5], None), 100),
        "/100",
    )
    print(
        "+10% at 12 of 20 after a 3x night exact",
        rate(lambda: segments(spiked(20, 12)) == ([12], None), 100),
        "/100",
    )
    for n in (6, 8, 10):
        print(f"noise {n} false", rate(lambda n=n: segments(noisy(n)) != ([], None), 300), "/300")
    t = time.perf_counter()
    [segments(step(365, 180, 1.15)) for _ in range(60)]
    print("365 with a step: s per series", (time.perf_counter() - t) / 60)
    t = time.perf_counter()
    [segments(noisy(365) * np.exp(0.0005 * np.arange(365))) for _ in range(60)]
    print("365 drift: s per series", (time.perf_counter() - t) / 60)


if __name__ == "__main__":
    main()
