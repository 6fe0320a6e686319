"""What the machine can do, measured once and cached: each framework engine's dense float32
matmul rate and the cost of its smallest dispatch, per device and thread count.

A record's efficiency is read against it: the achieved FLOP/s of training (FLOPs from the spec,
forward and backward of every layer) as a fraction of the device's peak, where the peak is the
best matmul rate any framework reached on that device with the same threads. The dispatch cost
says how many empty launches one training step is worth, i.e. how overhead-bound it is.

The cache is ``results/calibration/<machine_id>.json``. An entry is reused only while the machine
fingerprint, the thread count, the matrix size and the framework's version all match; anything
else is measured again (``harness calibrate --force`` re-measures on purpose). The file is
replaced atomically, so an interrupted write never loses the entries already there.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import store
from harness.interface import Probe
from harness.records import Timings
from harness.timing import timed

SCHEMA_VERSION = 1
MATMUL_N = {"cpu": 2048, "gpu": 8192}
MATMUL_ROUNDS = 7
DISPATCH_ROUNDS = 7
DISPATCHES_PER_ROUND = 200


class CalibrationError(RuntimeError):
    """A cache file that cannot be used; the message names the file and what is wrong."""


@dataclass
class Entry:
    """One engine on one device: raw samples, and the rates derived from them."""

    engine: str  # torch | tensorflow | jax: the framework whose kernels ran
    device: str
    threads: int
    fingerprint: str
    version: str
    n: int
    matmul_s: list[float]  # seconds per n x n matmul, one sample per round
    dispatch_s: list[float]  # seconds per dispatch, one sample per round of many
    dispatch_kind: str
    loadavg_1m: float | None = None
    measured_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def matmul_flops_per_s(self) -> float:
        """The best round: a peak is what the machine can reach, so noise only lowers it."""
        return 2.0 * self.n**3 / min(self.matmul_s)

    @property
    def dispatch_median_s(self) -> float:
        ordered = sorted(self.dispatch_s)
        return ordered[len(ordered) // 2]

    def matches(self, engine: str, device: str, threads: int, fingerprint: str, version: str) -> bool:
        return (self.engine, self.device, self.threads, self.fingerprint, self.version, self.n) == (
            engine,
            device,
            threads,
            fingerprint,
            version,
            MATMUL_N[device],
        )


def measure(probe: Probe, n: int) -> dict[str, Any]:
    """Time ``probe`` (in the worker): warm up, then rounds of matmuls and of dispatches.

    A matmul round runs enough products for ~0.2 s and one sync; a dispatch round enqueues
    :data:`DISPATCHES_PER_ROUND` dispatches and one sync, so the sync's own latency is spread
    over many launches, as it is over a training epoch's steps.
    """
    for _ in range(2):
        probe.matmul()
        probe.dispatch()
    probe.sync()
    _, one_s = timed(probe.matmul, probe.sync)
    per_round = max(1, min(50, int(0.2 / max(one_s, 1e-6))))
    matmul_s = [
        timed(lambda: [probe.matmul() for _ in range(per_round)], probe.sync)[1] / per_round
        for _ in range(MATMUL_ROUNDS)
    ]
    for _ in range(20):
        probe.dispatch()
    probe.sync()
    dispatch_s = [
        timed(lambda: [probe.dispatch() for _ in range(DISPATCHES_PER_ROUND)], probe.sync)[1]
        / DISPATCHES_PER_ROUND
        for _ in range(DISPATCH_ROUNDS)
    ]
    return {
        "n": n,
        "matmul_s": matmul_s,
        "dispatch_s": dispatch_s,
        "dispatch_kind": probe.dispatch_kind,
        "loadavg_1m": os.getloadavg()[0],
    }


def load(path: Path) -> list[Entry]:
    """The cached entries; an absent file is an empty cache, a corrupt one an error."""
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema_version") != SCHEMA_VERSION:
            raise CalibrationError(
                f"{path}: schema_version {data.get('schema_version')!r} is not {SCHEMA_VERSION}"
            )
        return [Entry(**entry) for entry in data["entries"]]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CalibrationError(
            f"{path} is not a readable calibration cache ({exc}); move it away to measure again"
        ) from exc


def save(path: Path, entries: list[Entry]) -> None:
    """Write every entry, atomically: a temp file in the same folder renamed over the old one."""
    body = json.dumps({"schema_version": SCHEMA_VERSION, "entries": [asdict(e) for e in entries]}, indent=1)
    store.write_atomic(path, body.encode("utf-8"), mode=0o644)


def upsert(entries: list[Entry], new: Entry) -> list[Entry]:
    """``entries`` with ``new`` replacing any entry for the same engine, device and threads."""
    kept = [e for e in entries if (e.engine, e.device, e.threads) != (new.engine, new.device, new.threads)]
    return [*kept, new]


def find(
    entries: list[Entry], engine: str, device: str, threads: int, fingerprint: str, version: str
) -> Entry | None:
    for entry in entries:
        if entry.matches(engine, device, threads, fingerprint, version):
            return entry
    return None


def peak(entries: list[Entry], device: str, threads: int, fingerprint: str) -> Entry | None:
    """The entry with the best matmul rate on ``device`` with ``threads``: the device's peak."""
    usable = [e for e in entries if (e.device, e.threads, e.fingerprint) == (device, threads, fingerprint)]
    return max(usable, key=lambda e: e.matmul_flops_per_s, default=None)


def efficiency(
    timings: Timings,
    n_train: int | None,
    train_flops_per_sample: int | None,
    steps_per_epoch: int | None,
    own: Entry | None,
    best: Entry | None,
) -> dict[str, Any]:
    """The record's ``efficiency`` block: achieved FLOP/s against the peak and the dispatch cost.

    ``achieved_flops_per_s`` is training FLOPs over the median steady-state epoch (every sample
    of the epoch, the short last batch included); empty when the run has no steady epochs.
    """
    epochs = sorted(timings.epoch_s)
    if not epochs or not n_train or not train_flops_per_sample or not steps_per_epoch:
        return {}
    epoch_s = epochs[len(epochs) // 2]
    out: dict[str, Any] = {
        "achieved_flops_per_s": train_flops_per_sample * n_train / epoch_s,
        "step_s": epoch_s / steps_per_epoch,
    }
    if best is not None:
        out["peak_flops_per_s"] = best.matmul_flops_per_s
        out["peak_engine"] = best.engine
        out["fraction_of_peak"] = out["achieved_flops_per_s"] / best.matmul_flops_per_s
    if own is not None:
        out["engine"] = own.engine
        out["engine_matmul_flops_per_s"] = own.matmul_flops_per_s
        out["dispatch_s"] = own.dispatch_median_s
        out["step_in_dispatches"] = out["step_s"] / own.dispatch_median_s
        out["calibrated_at"] = own.measured_at
    return out
