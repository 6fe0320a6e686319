"""The timer waits for the device before it stops; memory peaks are sampled."""

from __future__ import annotations

import time

import numpy as np
import pytest

from harness.run import timing

pytestmark = pytest.mark.alone  # sleeps and a sampler thread timed against the wall clock


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


@pytest.mark.parametrize("kernel", [True, False], ids=["kernel-high-water-mark", "sampled"])
def test_peak_rss_sees_a_transient_allocation_and_each_block_its_own(
    kernel: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kernel and not timing._reset_high_water_mark():
        pytest.skip("no resettable VmHWM here (not Linux, or /proc/self/clear_refs not writable)")
    if not kernel:
        monkeypatch.setattr(timing, "_reset_high_water_mark", lambda: False)
    with timing.PeakRSS(interval_s=0.005) as big:
        block = np.ones(300 * 2**20 // 8)  # 300 MiB, touched, freed before the block ends
        time.sleep(0.05)  # the sampler's chance to see it (the kernel needs none)
        del block
    with timing.PeakRSS(interval_s=0.005) as small:
        block = np.ones(100 * 2**20 // 8)
        time.sleep(0.05)
        del block
    assert big.method.startswith("kernel" if kernel else "sampled")
    assert big.bytes - small.bytes > 150 * 2**20  # the second block's peak is its own, not the first's
    assert small.bytes > 100 * 2**20
