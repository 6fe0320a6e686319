"""Each machine's measured noise floor: how far apart two back-to-back runs of the same code land.

Stored as ``<results>/noise/<machine_id>.json`` (written atomically, replaced by the next
measurement), made by ``python -m harness noise`` and shown beside every stored-baseline
comparison: a limit below the floor flags the machine's drift, not the code.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import UsageError
from harness.store.atomic import write_atomic

NOISE_DIR = "noise"


@dataclass
class NoiseFloor:
    """Back-to-back runs of one configuration, and the largest relative step-time change between
    consecutive ones (``floor``, a fraction)."""

    machine_id: str
    task: str
    impl: str
    mode: str
    epochs: int
    step_s: list[float]
    floor: float
    measured_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def describe(self) -> str:
        return (
            f"±{self.floor:.0%} between back-to-back runs of the same code ({len(self.step_s)} runs of "
            f"{self.task}/{self.impl}[{self.mode}], {self.measured_at[:10]}, `harness noise`)"
        )


def noise_path(results_dir: Path, machine_id: str) -> Path:
    return Path(results_dir) / NOISE_DIR / f"{machine_id}.json"


def save(results_dir: Path, floor: NoiseFloor) -> Path:
    path = noise_path(results_dir, floor.machine_id)
    write_atomic(path, json.dumps(asdict(floor), indent=1).encode("utf-8"), mode=0o644)
    return path


def load(results_dir: Path, machine_id: str) -> NoiseFloor | None:
    """The machine's floor, ``None`` when never measured; a corrupt file is an error naming it."""
    path = noise_path(results_dir, machine_id)
    if not path.exists():
        return None
    try:
        return NoiseFloor(**json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, TypeError) as exc:
        raise UsageError(
            f"{path} is not a readable noise-floor file ({exc}); move it away and measure again"
        ) from exc
