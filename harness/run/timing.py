"""The only place that reads a clock. Every timed region ends with the device's sync.

``timed(fn, sync)`` runs ``fn`` then ``sync`` and returns the elapsed seconds: a region never
ends before the device has finished. A :class:`Span` is the same for a region whose start and
end are two calls apart (an epoch between a training loop's hooks). A run's peak resident memory
is read here too: the kernel's high-water mark where it can be reset, else sampled.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psutil

from harness.errors import UsageError

T = TypeVar("T")
clock = time.perf_counter


def timed(fn: Callable[[], T], sync: Callable[[], Any] = lambda: None) -> tuple[T, float]:
    """Run ``fn()``, wait for the device with ``sync()``, return ``(result, seconds)``."""
    start = clock()
    result = fn()
    sync()
    return result, clock() - start


def repeat(fn: Callable[[], Any], sync: Callable[[], Any], count: int) -> list[float]:
    """``count`` raw samples of ``fn`` followed by ``sync``, in seconds."""
    return [timed(fn, sync)[1] for _ in range(count)]


class Span:
    """A timed region opened by :meth:`start` and closed by :meth:`stop` after the device's sync;
    also notes the wall-clock time it started (seconds since the epoch), to place it in a run."""

    def __init__(self) -> None:
        self.started_at = 0.0
        self._start = 0.0

    def start(self) -> None:
        self.started_at = time.time()
        self._start = clock()

    def elapsed_s(self) -> float:
        """Seconds since :meth:`start`, without waiting for the device."""
        return clock() - self._start

    def stop(self, sync: Callable[[], Any]) -> float:
        """Wait for the device with ``sync()``, return the seconds since :meth:`start`."""
        sync()
        return clock() - self._start


TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")  # /proc/stat counts in these ticks (10 ms on Linux)


def machine_busy_s() -> float | None:
    """CPU seconds every process on the machine has used so far (all cores, idle and iowait
    excluded), from ``/proc/stat``; ``None`` where there is none (not Linux)."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(fields[:8]) - fields[3] - fields[4]) * TICK_S  # user..steal, less idle and iowait


class CpuMeter:
    """What other processes did with the CPU while a region ran: the machine's busy CPU seconds
    over the region (``/proc/stat``, in 10 ms ticks) less this process's own (all its threads,
    exact). A tick counts whole 10 ms, so one short region's reading is rough, and may be below 0
    (no tick fell while this process ran): it is kept signed, so that sums over many regions stay
    unbiased (clipping each at 0 had made a 2 ms epoch look 80% contended)."""

    def __init__(self) -> None:
        self._machine: float | None = None
        self._own = 0.0

    def start(self) -> None:
        self._machine, self._own = machine_busy_s(), time.process_time()

    def stop(self) -> float | None:
        """Other processes' CPU seconds since :meth:`start` (signed), ``None`` if unknown."""
        machine, own = machine_busy_s(), time.process_time()
        if machine is None or self._machine is None:
            return None
        return (machine - self._machine) - (own - self._own)


QUIET_WAIT_ENV = "MLPBENCH_QUIET_WAIT_S"
QUIET_WAIT_S = 0.5  # the most a round waits for a quiet machine, unless $MLPBENCH_QUIET_WAIT_S says


def quiet_wait_limit() -> float:
    """The most an interleaved round waits for a quiet machine before its first epoch:
    ``$MLPBENCH_QUIET_WAIT_S`` seconds, else 0.5. ``0`` never waits: where other work always runs
    (the test suite's parallel pass: another test beside every one), each round would wait the
    whole limit for nothing (13.5 s of a 27-run iris suite's 101 s beside one busy process). The
    rounds that found no quiet moment are counted in the record either way. A value that is not
    a number of seconds >= 0 raises :class:`UsageError`."""
    text = os.environ.get(QUIET_WAIT_ENV, "").strip()
    if not text:
        return QUIET_WAIT_S
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise UsageError(
            f"${QUIET_WAIT_ENV}={text!r} is not a number of seconds >= 0; valid: e.g. 0 (never wait for "
            f"a quiet machine) or 0.5 (the default)"
        )
    return value


def wait_for_quiet(window_s: float = 0.02, limit_s: float = QUIET_WAIT_S) -> tuple[float, bool]:
    """Wait until other processes leave the CPU alone for ``window_s`` (less than one tick of
    their CPU time in it), at most ``limit_s``; returns the seconds waited and whether it was
    quiet (``limit_s`` 0: no wait, and not known to be quiet). Runtimes keep their threads
    spinning after the work is done (OpenBLAS for about 0.1 s on two cores), so the run before
    this one in a round goes on using the CPU into its epoch."""
    if limit_s <= 0:
        return 0.0, False
    start = clock()
    while True:
        machine, own = machine_busy_s(), time.process_time()
        if machine is None:
            return 0.0, True
        time.sleep(window_s)
        others = (machine_busy_s() or machine) - machine - (time.process_time() - own)
        if others < TICK_S:
            return clock() - start, True
        if clock() - start >= limit_s:
            return clock() - start, False


def busy_wait(seconds: float) -> None:
    """Keep this thread's core busy for ``seconds``: a slowdown that costs what real work costs."""
    end = clock() + seconds
    while clock() < end:
        pass


class PeakRSS:
    """The highest resident set size of this process inside a ``with PeakRSS() as peak:`` block
    (``peak.bytes``), so a worker that runs many runs reports each run's own peak rather than the
    process-lifetime ``ru_maxrss``.

    On Linux the kernel keeps the peak (``VmHWM`` in ``/proc/self/status``) and resets it on request
    (``5`` written to ``/proc/self/clear_refs``, since Linux 4.0): nothing runs beside the training
    loop. Elsewhere, or where that file cannot be written, a daemon thread samples every
    ``interval_s``; it wakes beside the loop (a GIL hand-over and a /proc read a hundred times a
    second), which is why it is only the fallback.
    """

    def __init__(self, interval_s: float = 0.01) -> None:
        self.interval_s = interval_s
        self.bytes = 0
        self.method = ""  # how the peak was had: set on entering the block
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _read(self) -> None:
        self.bytes = max(self.bytes, self._process.memory_info().rss)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._read()

    def __enter__(self) -> PeakRSS:
        self._read()
        if _reset_high_water_mark():
            self.method = "kernel high-water mark"
        else:
            self.method = f"sampled every {self.interval_s} s"
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        else:
            self.bytes = max(self.bytes, _high_water_mark_bytes() or 0)
        self._read()


def _reset_high_water_mark() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux); whether that was possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return _high_water_mark_bytes() is not None


def _high_water_mark_bytes() -> int | None:
    """``VmHWM`` of ``/proc/self/status`` in bytes; ``None`` where there is none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
