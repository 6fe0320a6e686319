"""Append-only storage of run records as JSON Lines.

Each ``harness run`` writes its own file, ``<results>/runs/<machine_id>/<UTC time>-<commit>-<suite>.jsonl``,
and never touches an earlier one. A record is appended by writing the whole new file beside the
old one and renaming it over (``os.replace`` is atomic), so a crash or Ctrl-C leaves either the
file before or the file after the append: never half a record.

Which of the stored runs count is chosen in one place, :func:`choose_runs`: the newest run per
pair for a comparison (``harness compare``, a saved baseline, the page's regression check), each
machine's newest commit for the page's tables.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

import orjson

from harness.errors import CompareInputError, RecordError, UsageError
from harness.record.digest import Digest, digest
from harness.record.keys import PairKey
from harness.record.schema import RunRecord
from harness.store.atomic import write_atomic

RUNS_DIR = "runs"
AB_DIR = "ab"  # the A/B gate's records: both sides of each comparison, kept apart from the runs
Newest = Literal["run per pair", "commit per machine"]  # which runs count: see choose_runs


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
    records = {f: recs for f, (recs, _) in per_file.items()}
    chosen = choose_runs({f: [digest(r, samples=False) for r in recs] for f, recs in records.items()})
    return RecordSet(path, records_at(chosen, records), sorted(files, key=lambda p: p.name), skipped)


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


def choose_runs(
    by_file: Mapping[Path, Sequence[Digest]],
    newest: Newest | None = "run per pair",
    *,
    machine: str | None = None,
    commit: str | None = None,
    file: str | None = None,
    twins: bool = False,
) -> list[tuple[Path, int]]:
    """The runs that count, of every record file's digests (``by_file``, each in file order), as
    (file, position in it), in ``by_file``'s order: the one place that chooses them.

    The candidates are every run, less the A/A twins unless ``twins`` (a comparison never reads
    them; the page's A/A figures do), narrowed to ``machine``'s runs, to the record file named
    ``file`` (its name, stem or path) and to the commits starting ``commit``; :class:`UsageError`
    when ``file`` or ``commit`` names none, listing some that there are. Of them, ``newest`` counts:

    - ``"run per pair"`` (what ``harness compare``, a saved baseline and the page's regression check
      read): for each pair, its runs in the newest file with an ``ok`` run of it (by name: run files
      are named from their UTC time), and every run of a pair that never ran ``ok``;
    - ``"commit per machine"`` (what the page's tables answer for): for each machine, every run of
      the commit of its newest run (by ``created_at``);
    - ``None``: every candidate.
    """
    if newest is not None and newest not in get_args(Newest):
        raise ValueError(f"newest={newest!r}; valid: {', '.join(map(repr, get_args(Newest)))}, None")
    runs = [(f, i, d) for f, ds in by_file.items() for i, d in enumerate(ds) if twins or not d.twin]
    if machine is not None:
        runs = [run for run in runs if run[2].machine_id == machine]
    if file:
        runs = _of_file(runs, by_file, file)
    if commit:
        runs = _of_commit(runs, by_file, commit)
    if newest == "run per pair":
        return _newest_run_per_pair(runs)
    if newest == "commit per machine":
        return _newest_commit_per_machine(runs)
    return [(f, i) for f, i, _ in runs]


_Run = tuple[Path, int, Digest]  # a run's file, its position there, its digest


def _of_file(runs: list[_Run], by_file: Mapping[Path, Sequence[Digest]], name: str) -> list[_Run]:
    files = {f for f in by_file if name in (f.name, f.stem, str(f))}
    if not files:
        names = ", ".join(sorted(f.stem for f in by_file)[-5:])
        raise UsageError(f"no record file named {name!r}; the newest are: {names}")
    return [run for run in runs if run[0] in files]


def _of_commit(runs: list[_Run], by_file: Mapping[Path, Sequence[Digest]], prefix: str) -> list[_Run]:
    mine = [run for run in runs if run[2].git_commit.startswith(prefix)]
    if not mine:
        known = sorted({d.git_commit[:12] for ds in by_file.values() for d in ds})[-5:]
        raise UsageError(
            f"no records of a commit starting {prefix!r}; commits here include: {', '.join(known)}"
        )
    return mine


def _newest_run_per_pair(runs: list[_Run]) -> list[tuple[Path, int]]:
    newest: dict[PairKey, Path] = {}
    for path, _, run in sorted(runs, key=lambda r: r[0].name):  # run files are named from their UTC time
        if run.status == "ok":
            newest[run.pair_key] = path
    return [(path, i) for path, i, run in runs if newest.get(run.pair_key, path) == path]


def _newest_commit_per_machine(runs: list[_Run]) -> list[tuple[Path, int]]:
    per_machine: dict[str, list[Digest]] = defaultdict(list)
    for _, _, run in runs:
        per_machine[run.machine_id].append(run)
    pick = {m: max(ds, key=lambda d: d.created_at).git_commit for m, ds in per_machine.items()}
    return [(path, i) for path, i, run in runs if run.git_commit == pick[run.machine_id]]


def records_at(
    chosen: Iterable[tuple[Path, int]], per_file: Mapping[Path, Sequence[RunRecord]]
) -> list[RunRecord]:
    """The records at ``chosen``'s places (:func:`choose_runs`) of the records read per file (the
    digests' positions are the records': both skip the same unreadable lines); a place past the
    end of what was read is left out."""
    return [per_file[f][i] for f, i in chosen if i < len(per_file.get(f, ()))]


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
