"""The timer waits for the device before it stops; memory peaks are sampled."""

from __future__ import annotations

import time

import numpy as np

from harness.run import timing


def test_timed_includes_the_sync() -> None:
    events: list[str] = []

    def work() -> str:
        events.append("work")
        return "result"

    def sync() -> None:
        time.sleep(0.05)  # a device still busy after the call returned
        events.append("sync")

    result, seconds = timing.timed(work, sync)
    assert result == "result" and events == ["work", "sync"] and seconds >= 0.05


def test_repeat_returns_raw_samples() -> None:
    samples = timing.repeat(lambda: time.sleep(0.01), lambda: None, 3)
    assert len(samples) == 3 and all(s >= 0.01 for s in samples)


def test_peak_rss_sees_a_transient_allocation() -> None:
    with timing.PeakRSS(interval_s=0.005) as baseline:
        pass
    with timing.PeakRSS(interval_s=0.005) as peak:
        block = np.ones(200 * 2**20 // 8)  # 200 MiB, touched
        time.sleep(0.05)
        del block
    assert peak.bytes - baseline.bytes > 150 * 2**20
