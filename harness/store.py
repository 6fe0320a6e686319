"""Append-only storage of run records as JSON Lines.

Each ``harness run`` writes its own file, ``<results>/runs/<machine_id>/<UTC time>-<commit>-<suite>.jsonl``,
and never touches an earlier one. A record is appended by writing the whole new file beside the
old one and renaming it over (``os.replace`` is atomic), so a crash or Ctrl-C leaves either the
file before or the file after the append: never half a record.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.records import RecordError, RunRecord

RUNS_DIR = "runs"


@dataclass(frozen=True)
class Skipped:
    """A line that could not be read as a record: where it is and why."""

    path: Path
    line: int
    reason: str


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "x"


class RecordWriter:
    """Appends records to one new file; refuses to reuse a file that already exists."""

    def __init__(self, results_dir: Path, machine_id: str, commit: str, suite: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        folder = Path(results_dir) / RUNS_DIR / _safe(machine_id)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{stamp}-{_safe(commit[:12] or 'nogit')}-{_safe(suite or 'adhoc')}.jsonl"
        if self.path.exists():
            raise FileExistsError(f"{self.path} exists; results are never overwritten")
        self.count = 0

    def append(self, record: RunRecord) -> None:
        """Add ``record`` as one line; atomic (temp file + rename), fsynced."""
        line = json.dumps(record.to_dict(), allow_nan=False, separators=(",", ":")) + "\n"
        old = self.path.read_bytes() if self.path.exists() else b""
        write_atomic(self.path, old + line.encode(), mode=0o644)  # results are meant to be shared
        self.count += 1


def write_atomic(path: Path, data: bytes, overwrite: bool = True, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` through a fsynced temp file in the same folder: a crash leaves the
    old file or the new one, never half of one. ``overwrite=False`` links the temp file to ``path``
    instead of renaming it over, which fails with :class:`FileExistsError` rather than replace a
    file. ``mode`` sets the permissions (a temp file from mkstemp is owner-only)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def record_files(path: Path) -> list[Path]:
    """``path`` itself if it is a file, else every ``*.jsonl`` below it, sorted."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    return sorted(p for p in path.rglob("*.jsonl") if not p.name.startswith("."))


def iter_records(paths: Iterable[Path]) -> Iterator[RunRecord | Skipped]:
    """Every record in ``paths``, or a :class:`Skipped` for each line that is not one."""
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    yield RunRecord.from_dict(json.loads(text))
                except (json.JSONDecodeError, RecordError) as exc:
                    yield Skipped(path, number, f"{type(exc).__name__}: {exc}")


def load(path: Path) -> tuple[list[RunRecord], list[Skipped]]:
    """All readable records under ``path`` and the lines that were skipped."""
    records: list[RunRecord] = []
    skipped: list[Skipped] = []
    for item in iter_records(record_files(path)):
        (skipped if isinstance(item, Skipped) else records).append(item)
    return records, skipped
