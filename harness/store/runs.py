"""Append-only storage of run records as JSON Lines.

Each ``harness run`` writes its own file, ``<results>/runs/<machine_id>/<UTC time>-<commit>-<suite>.jsonl``,
and never touches an earlier one. A record is appended by writing the whole new file beside the
old one and renaming it over (``os.replace`` is atomic), so a crash or Ctrl-C leaves either the
file before or the file after the append: never half a record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import orjson

from harness.errors import CompareInputError, RecordError
from harness.record.derived import is_twin
from harness.record.keys import PairKey, pair_key
from harness.record.schema import RunRecord
from harness.store.atomic import write_atomic

RUNS_DIR = "runs"
AB_DIR = "ab"  # the A/B gate's records: both sides of each comparison, kept apart from the runs
T = TypeVar("T")  # a record, or its digest: what has a status and a pair


@dataclass(frozen=True)
class Skipped:
    """A line that could not be read as a record: where it is and why."""

    path: Path
    line: int
    reason: str


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "x"


class RecordWriter:
    """Appends records to one new file under ``<results>/<kind>/<machine_id>/``, claimed at the
    first record (exclusive creation: two runs writing into one folder at once never share a
    file, and a file that exists is never reused). Every append replaces the file atomically, so
    a reader sees whole lines only."""

    def __init__(
        self, results_dir: Path, machine_id: str, commit: str, suite: str, kind: str = RUNS_DIR
    ) -> None:
        self.folder = Path(results_dir) / kind / _safe(machine_id)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.tail = f"{_safe(commit[:12] or 'nogit')}-{_safe(suite or 'adhoc')}.jsonl"
        self.path = self._name()
        self.count = 0

    def _name(self) -> Path:
        return self.folder / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{self.tail}"

    def _claim(self) -> None:
        """Create the file, exclusively, at the first record: another writer's file is never shared
        (a name taken meanwhile is replaced by a newer one), and a writer that writes nothing
        leaves nothing."""
        for _ in range(100):
            try:
                self.path.open("x").close()
                return
            except FileExistsError:
                self.path = self._name()
        raise FileExistsError(f"{self.path} exists; results are never overwritten")

    def append(self, record: RunRecord) -> None:
        """Add ``record`` as one line; atomic (temp file + rename), fsynced."""
        if self.count == 0:
            self._claim()
        line = json.dumps(record.to_dict(), allow_nan=False, separators=(",", ":")) + "\n"
        old = self.path.read_bytes()
        write_atomic(self.path, old + line.encode(), mode=0o644)  # results are meant to be shared
        self.count += 1


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
                try:  # orjson: 3-4x the standard library's parse (a year of nights is ~64k lines)
                    yield RunRecord.from_dict(orjson.loads(text))
                except (json.JSONDecodeError, RecordError) as exc:  # orjson's error is a JSONDecodeError
                    yield Skipped(path, number, f"{type(exc).__name__}: {exc}")


def load(path: Path) -> tuple[list[RunRecord], list[Skipped]]:
    """All readable records under ``path`` and the lines that were skipped."""
    by_file, skipped = load_by_file(path)
    return [r for records in by_file.values() for r in records], skipped


@dataclass
class RecordSet:
    """The records one side of a comparison reads, and where they came from."""

    path: Path
    records: list[RunRecord]
    files: list[Path]
    skipped: list[Skipped] = field(default_factory=list)

    def describe(self) -> str:
        """One line: source, record count, commit(s) and dates."""
        ok = [r for r in self.records if r.status == "ok"]
        commits = sorted({r.git_commit[:12] or "no commit" for r in ok})
        dates = sorted(r.created_at[:10] for r in ok)
        when = f"{dates[0]}..{dates[-1]}" if dates and dates[0] != dates[-1] else (dates[0] if dates else "-")
        files = f" ({len(self.files)} files, newest per pair)" if len(self.files) > 1 else ""
        skipped = f", {len(self.skipped)} unreadable lines skipped" if self.skipped else ""
        return f"{self.path}{files}: {len(ok)} ok runs, commit {', '.join(commits) or '-'}, {when}{skipped}"


def _read_file(path: Path) -> tuple[list[RunRecord], list[Skipped]]:
    try:
        items = list(iter_records([path]))
    except (OSError, UnicodeDecodeError) as exc:
        raise CompareInputError(f"cannot read {path}: {exc}") from exc
    return [i for i in items if isinstance(i, RunRecord)], [i for i in items if isinstance(i, Skipped)]


def select_records(path: Path, machine_id: str | None = None) -> RecordSet:
    """Records of a file (all of them) or of a directory (for each pair, the newest file holding it,
    by name: run files are named from their UTC time).

    A runs directory (``<results>/runs``) is narrowed to ``machine_id``'s folder when it has one.
    """
    path = Path(path)
    if not path.exists():
        raise CompareInputError(f"{path} does not exist")
    if path.is_dir() and machine_id and (path / machine_id).is_dir():
        path = path / machine_id
    files = record_files(path)
    if not files:
        raise CompareInputError(f"no *.jsonl record files under {path}")
    per_file = {f: _read_file(f) for f in files}
    skipped = [s for _, file_skipped in per_file.values() for s in file_skipped]
    return record_set_of(path, {f: recs for f, (recs, _) in per_file.items()}, skipped)


def record_set_of(
    path: Path, per_file: dict[Path, list[RunRecord]], skipped: list[Skipped] | None = None
) -> RecordSet:
    """The side a comparison reads from records already loaded per file: all of one file's, or
    for each pair the newest file holding it."""
    per_file = {f: [r for r in recs if not is_twin(r)] for f, recs in per_file.items()}  # A/A twins: not runs
    files = sorted(per_file, key=lambda p: p.name)
    if len(files) == 1:
        return RecordSet(path, per_file[files[0]], files, skipped or [])
    return RecordSet(path, _newest_per_pair(per_file), files, skipped or [])


def load_by_file(path: Path) -> tuple[dict[Path, list[RunRecord]], list[Skipped]]:
    """Every readable record under ``path``, grouped by the file it is in, and the skipped lines."""
    return load_files(record_files(path))


def load_files(files: Iterable[Path]) -> tuple[dict[Path, list[RunRecord]], list[Skipped]]:
    """The readable records of ``files``, per file, and the skipped lines."""
    by_file: dict[Path, list[RunRecord]] = {}
    skipped: list[Skipped] = []
    for file in files:
        for item in iter_records([file]):
            if isinstance(item, Skipped):
                skipped.append(item)
            else:
                by_file.setdefault(file, []).append(item)
    return by_file, skipped


def newest_ok_file(per_file: Mapping[Path, Iterable[T]], key: Callable[[T], PairKey]) -> dict[PairKey, Path]:
    """For each pair (``key`` of a record, or of a digest), the newest file holding an ``ok`` run of
    it, by name: run files are named from their UTC time."""
    newest: dict[PairKey, Path] = {}
    for path in sorted(per_file, key=lambda p: p.name):
        for item in per_file[path]:
            if item.status == "ok":
                newest[key(item)] = path
    return newest


def _newest_per_pair(per_file: dict[Path, list[RunRecord]]) -> list[RunRecord]:
    newest = newest_ok_file(per_file, pair_key)
    chosen = [r for path, recs in per_file.items() for r in recs if newest.get(pair_key(r)) == path]
    failed_only = [r for recs in per_file.values() for r in recs if pair_key(r) not in newest]
    return chosen + failed_only


def newest_run_file(results_dir: Path, machine_id: str) -> Path:
    """The newest run file of ``machine_id`` under ``<results>/runs``."""
    folder = Path(results_dir) / RUNS_DIR / machine_id
    files = [f for f in record_files(folder) if f.stat().st_size] if folder.is_dir() else []
    if not files:
        raise CompareInputError(
            f"no run files under {folder}; run a suite first (`python -m harness run --suite <suite>`) "
            "or pass --from FILE"
        )
    return files[-1]  # names start with the UTC time of the run
