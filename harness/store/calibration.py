"""The machine calibration's cache: one JSON file per machine, its entries (each engine's raw
matmul and dispatch samples on one device and thread count), and how an entry is found again.

Measuring is the run stage's (:mod:`harness.run.calibration` starts the workers,
:mod:`harness.run.probe` times inside them); this module only reads and writes. An entry is reused
only while the machine fingerprint, the thread count, the matrix size and the framework's version
all match. The file is replaced atomically, so an interrupted write never loses the entries
already there.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import CalibrationError
from harness.record.derived import median
from harness.store.atomic import write_atomic

SCHEMA_VERSION = 1


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
    import_s: float | None = None  # the engine's import and setup in a worker alone (None: older entries)
    measured_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def matmul_flops_per_s(self) -> float:
        """The best round: a peak is what the machine can reach, so noise only lowers it."""
        return 2.0 * self.n**3 / min(self.matmul_s)

    @property
    def dispatch_median_s(self) -> float:
        return median(self.dispatch_s)

    def matches(self, engine: str, device: str, threads: int, fingerprint: str, version: str, n: int) -> bool:
        """Still valid for this engine, device, threads, machine, version and matrix size."""
        key = (self.engine, self.device, self.threads, self.fingerprint, self.version, self.n)
        return key == (engine, device, threads, fingerprint, version, n)


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
    entries: list[Entry], engine: str, device: str, threads: int, fingerprint: str, version: str, n: int
) -> Entry | None:
    """The cached entry still valid for this engine, device, threads, machine, version and size."""
    for entry in entries:
        if entry.matches(engine, device, threads, fingerprint, version, n):
            return entry
    return None


def find_for(entries: list[Entry], engine: str, device: str, threads: int) -> Entry | None:
    """Among the usable ``entries`` (one per engine and device), the one of ``engine``."""
    return next((e for e in entries if (e.engine, e.device, e.threads) == (engine, device, threads)), None)


def peak(entries: list[Entry], device: str, threads: int, fingerprint: str) -> Entry | None:
    """The entry with the best matmul rate on ``device`` with ``threads``: the device's peak."""
    usable = [e for e in entries if (e.device, e.threads, e.fingerprint) == (device, threads, fingerprint)]
    return max(usable, key=lambda e: e.matmul_flops_per_s, default=None)
