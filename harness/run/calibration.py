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
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import CalibrationError
from harness.record.derived import median
from harness.run import machine
from harness.run.timing import timed
from harness.run.worker_client import Worker, WorkerDied
from harness.spec import registry
from harness.spec.contract import Probe
from harness.store.atomic import write_atomic

SCHEMA_VERSION = 1
MATMUL_N = {"cpu": 2048, "gpu": 8192}
MATMUL_ROUNDS = 7
DISPATCH_ROUNDS = 7
DISPATCHES_PER_ROUND = 200


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
        return median(self.dispatch_s)

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
    write_atomic(path, body.encode("utf-8"), mode=0o644)


def upsert(entries: list[Entry], new: Entry) -> list[Entry]:
    """``entries`` with ``new`` replacing any entry for the same engine, device and threads."""
    kept = [e for e in entries if (e.engine, e.device, e.threads) != (new.engine, new.device, new.threads)]
    return [*kept, new]


def find(
    entries: list[Entry], engine: str, device: str, threads: int, fingerprint: str, version: str
) -> Entry | None:
    """The cached entry still valid for this engine, device, threads, machine and version."""
    for entry in entries:
        if entry.matches(engine, device, threads, fingerprint, version):
            return entry
    return None


def find_for(entries: list[Entry], engine: str, device: str, threads: int) -> Entry | None:
    """Among the usable ``entries`` (one per engine and device), the one of ``engine``."""
    return next((e for e in entries if (e.engine, e.device, e.threads) == (engine, device, threads)), None)


def peak(entries: list[Entry], device: str, threads: int, fingerprint: str) -> Entry | None:
    """The entry with the best matmul rate on ``device`` with ``threads``: the device's peak."""
    usable = [e for e in entries if (e.device, e.threads, e.fingerprint) == (device, threads, fingerprint)]
    return max(usable, key=lambda e: e.matmul_flops_per_s, default=None)


def cache_file(results_dir: Path) -> Path:
    """Where this machine's calibration is cached (``$MLPBENCH_CALIBRATION_DIR`` moves it)."""
    folder = os.environ.get("MLPBENCH_CALIBRATION_DIR")
    base = Path(folder) if folder else Path(results_dir) / "calibration"
    return base / f"{machine.machine_info()['machine_id']}.json"


def calibrate(
    devices: list[str],
    threads: int,
    path: Path,
    force: bool = False,
    log: Callable[[str], None] = lambda message: None,
) -> list[Entry]:
    """Every installed engine's entry on each of ``devices``, measured where the cache at
    ``path`` has none that still matches (or all of them with ``force``); returns the usable ones."""
    entries = load(path)
    fingerprint = machine.machine_info()["fingerprint"]
    usable = []
    for device in devices:
        for info in registry.engines().values():
            if info.unavailable_reason() or (device == "gpu" and not info.supports_gpu):
                continue
            version = info.version()
            found = None if force else find(entries, info.name, device, threads, fingerprint, version)
            if found is None:
                found = _measure_engine(info.name, device, threads, fingerprint, version, log)
                if found is None:
                    continue
                entries = upsert(entries, found)
                save(path, entries)
            usable.append(found)
    return usable


def _measure_engine(
    engine: str, device: str, threads: int, fingerprint: str, version: str, log: Callable[[str], None]
) -> Entry | None:
    n = MATMUL_N[device]
    log(f"calibrating {engine} on {device} ({threads} threads): {n}x{n} float32 matmul, empty dispatch")
    try:
        worker = Worker(engine, None, device, threads)
        try:
            answer = worker.calibrate(device, n) if "error" not in worker.ready else worker.ready
        finally:
            worker.close()
    except WorkerDied as died:
        answer = {"error": str(died)}
    if "error" in answer:
        log(f"  {engine} on {device} not calibrated: {answer['error']}")
        return None
    return Entry(
        engine=engine,
        device=device,
        threads=threads,
        fingerprint=fingerprint,
        version=version,
        **answer["result"],
    )
