"""The derived index of the run records: each record's digest (:mod:`harness.record.digest`),
kept per record file under ``<results>/.index/``, so that a report or the nightly check reads a
year of nights without parsing every record (about 60 times less to read, see the README).

The JSON Lines stay the source of truth, append-only; the index is derived from them and never
trusted over them:

- an index file names its source (path relative to the results folder, size and modification
  time in nanoseconds) and the index :data:`VERSION`; one that does not match its source (the run
  file grew: a run appended to it), comes from another index version (an older harness), or cannot
  be read (truncated, not JSON, not digests) is rebuilt from the source, and one whose source is
  gone is removed;
- it is updated incrementally: only the files that changed since are read;
- it is written atomically, file by file (:func:`~harness.store.atomic.write_atomic`), so two
  readers building it at once, or a crash, leave whole index files; a results folder that cannot
  be written costs time, not answers (the digests are made from the records then).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from harness.errors import RecordError
from harness.record.digest import Digest, digest
from harness.store.atomic import write_atomic
from harness.store.runs import Skipped, iter_records, record_files

INDEX_DIR = ".index"
# Raise when a digest's fields or meaning change: every older index is rebuilt (2: step times less
# the epoch overhead; finished_at).
VERSION = 2


@dataclass
class IndexStats:
    """What reading the index did: files read from it, rebuilt from their records, removed."""

    fresh: int = 0
    rebuilt: list[str] = field(default_factory=list)  # "<file>: why"
    removed: int = 0
    unwritable: str = ""  # why the index could not be written (it was made in memory)


def index_path(results_dir: Path, source: Path) -> Path:
    """Where the index of record file ``source`` (under ``results_dir``) is kept."""
    return results_dir / INDEX_DIR / source.relative_to(results_dir).with_suffix(".json")


def _stamp(results_dir: Path, source: Path) -> dict[str, object]:
    info = source.stat()
    return {
        "version": VERSION,
        "source": source.relative_to(results_dir).as_posix(),
        "size": info.st_size,
        "mtime_ns": info.st_mtime_ns,
    }


def _read(path: Path, stamp: dict[str, object], source: Path) -> tuple[list[Digest], list[Skipped]] | str:
    """The index at ``path`` of record file ``source`` if it matches ``stamp``; else why it does not."""
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return "no index yet"
    except (OSError, orjson.JSONDecodeError) as exc:
        return f"unreadable index ({type(exc).__name__})"
    if not isinstance(data, dict) or data.get("version") != VERSION:
        found = data.get("version") if isinstance(data, dict) else None
        return f"index version {found!r}, this harness writes {VERSION}"
    if any(data.get(k) != v for k, v in stamp.items()):
        return "the record file changed since it was indexed"
    try:
        digests = [Digest.from_dict(d) for d in data["digests"]]
        skipped = [Skipped(source, int(line), str(reason)) for line, reason in data["skipped"]]
    except (KeyError, TypeError, ValueError, RecordError) as exc:
        return f"malformed index ({exc})"
    return digests, skipped


def _build(source: Path) -> tuple[list[Digest], list[Skipped]]:
    digests, skipped = [], []
    for item in iter_records([source]):
        if isinstance(item, Skipped):
            skipped.append(item)
        else:
            digests.append(digest(item))
    return digests, skipped


def load(records_dir: Path, results_dir: Path) -> tuple[dict[Path, list[Digest]], list[Skipped], IndexStats]:
    """Every record file under ``records_dir`` (inside ``results_dir``): its digests, from the
    index where it is fresh, else from the records (and the index rewritten); the lines that are
    not records; and what was read or rebuilt."""
    results_dir = Path(results_dir).resolve()
    by_file: dict[Path, list[Digest]] = {}
    skipped: list[Skipped] = []
    stats = IndexStats()
    wanted: set[Path] = set()
    for source in record_files(records_dir):
        resolved = source.resolve()
        stamp = _stamp(results_dir, resolved)
        where = index_path(results_dir, resolved)
        wanted.add(where)
        found = _read(where, stamp, source)
        if isinstance(found, str):
            stats.rebuilt.append(f"{stamp['source']}: {found}")
            found = _build(source)
            body = {**stamp, "digests": [d.to_dict() for d in found[0]],
                    "skipped": [[s.line, s.reason] for s in found[1]]}  # fmt: skip
            if not stats.unwritable:
                try:
                    write_atomic(where, orjson.dumps(body))
                except OSError as exc:
                    stats.unwritable = f"{where.parent}: {exc.strerror or exc}"
        else:
            stats.fresh += 1
        if found[0]:
            by_file[source] = found[0]
        skipped += found[1]
    below = Path(records_dir).resolve().relative_to(results_dir)
    stats.removed = _prune(results_dir / INDEX_DIR / below, wanted)
    return by_file, skipped, stats


def _prune(folder: Path, wanted: set[Path]) -> int:
    """Remove index files under ``folder`` whose record file is gone."""
    removed = 0
    if not folder.is_dir():
        return 0
    for path in folder.rglob("*.json"):
        if path not in wanted:
            try:
                os.unlink(path)
                removed += 1
            except OSError:
                pass
    return removed
