"""Which records a comparison reads, the machine check, and the committed per-machine baselines.

A baseline is ``<results>/baselines/<machine_id>.jsonl``: the ``ok`` records of one chosen run,
one JSON object per line, sorted and with sorted keys so that a new baseline is a readable diff
when committed. Saving never loses the previous one: it is first copied to
``<machine_id>.<UTC time>.jsonl`` (created exclusively, never overwritten), then the new file is
written beside the old and renamed over it (``os.replace`` is atomic).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from harness import machine, store
from harness.compare import CompareInputError, PairKey, Unmatched, group_ok, pair_key
from harness.records import RunRecord

BASELINES_DIR = "baselines"


def this_machine_id() -> str:
    """The ``machine_id`` of the machine running this process."""
    return str(machine.machine_info()["machine_id"])


def baseline_path(results_dir: Path, machine_id: str | None = None) -> Path:
    """Where a machine's committed baseline lives: ``<results>/baselines/<machine_id>.jsonl``."""
    return Path(results_dir) / BASELINES_DIR / f"{machine_id or this_machine_id()}.jsonl"


@dataclass
class Side:
    """The records one side of a comparison reads, and where they came from."""

    path: Path
    records: list[RunRecord]
    files: list[Path]
    skipped: list[store.Skipped] = field(default_factory=list)

    def describe(self) -> str:
        """One line: source, record count, commit(s) and dates."""
        ok = [r for r in self.records if r.status == "ok"]
        commits = sorted({r.git_commit[:12] or "no commit" for r in ok})
        dates = sorted(r.created_at[:10] for r in ok)
        when = f"{dates[0]}..{dates[-1]}" if dates and dates[0] != dates[-1] else (dates[0] if dates else "-")
        files = f" ({len(self.files)} files, newest per pair)" if len(self.files) > 1 else ""
        skipped = f", {len(self.skipped)} unreadable lines skipped" if self.skipped else ""
        return f"{self.path}{files}: {len(ok)} ok runs, commit {', '.join(commits) or '-'}, {when}{skipped}"


@dataclass
class Sides:
    """Baseline and current records."""

    base: Side
    cur: Side

    @property
    def baseline(self) -> list[RunRecord]:
        return self.base.records

    @property
    def current(self) -> list[RunRecord]:
        return self.cur.records

    def describe(self) -> dict[str, str]:
        """``{"baseline": ..., "current": ...}`` one-line descriptions for the rendered tables."""
        return {"baseline": self.base.describe(), "current": self.cur.describe()}


def _read_file(path: Path) -> tuple[list[RunRecord], list[store.Skipped]]:
    try:
        items = list(store.iter_records([path]))
    except (OSError, UnicodeDecodeError) as exc:
        raise CompareInputError(f"cannot read {path}: {exc}") from exc
    return [i for i in items if isinstance(i, RunRecord)], [i for i in items if isinstance(i, store.Skipped)]


def select_records(path: Path, machine_id: str | None = None) -> Side:
    """Records of a file (all of them) or of a directory (for each pair, the newest file holding it,
    by name: run files are named from their UTC time).

    A runs directory (``<results>/runs``) is narrowed to ``machine_id``'s folder when it has one.
    """
    path = Path(path)
    if not path.exists():
        raise CompareInputError(f"{path} does not exist")
    if path.is_dir() and machine_id and (path / machine_id).is_dir():
        path = path / machine_id
    files = store.record_files(path)
    if not files:
        raise CompareInputError(f"no *.jsonl record files under {path}")
    per_file = {f: _read_file(f) for f in files}
    skipped = [s for _, file_skipped in per_file.values() for s in file_skipped]
    if len(files) == 1:
        return Side(path, per_file[files[0]][0], files, skipped)
    return Side(path, _newest_per_pair({f: recs for f, (recs, _) in per_file.items()}), files, skipped)


def _newest_per_pair(per_file: dict[Path, list[RunRecord]]) -> list[RunRecord]:
    newest: dict[PairKey, Path] = {}
    for path in sorted(per_file, key=lambda p: p.name):  # run file names start with their UTC time
        for key in group_ok(per_file[path]):
            newest[key] = path
    chosen = [r for path, recs in per_file.items() for r in recs if newest.get(pair_key(r)) == path]
    failed_only = [r for recs in per_file.values() for r in recs if pair_key(r) not in newest]
    return chosen + failed_only


def baseline_for(results_dir: Path, machine_id: str, fingerprint: str) -> Path | None:
    """The baseline of a machine: ``<machine_id>.jsonl``, else the newest ``*-<fingerprint[:8]>.jsonl``
    (same hardware under another hostname); ``None`` when neither exists.
    """
    exact = baseline_path(results_dir, machine_id)
    if exact.exists():
        return exact
    same_hardware = list(exact.parent.glob(f"*-{fingerprint[:8]}.jsonl")) if fingerprint else []
    return max(same_hardware, key=lambda p: (p.stat().st_mtime, p.name)) if same_hardware else None


def find_baseline(results_dir: Path) -> Path:
    """This machine's baseline: ``<machine_id>.jsonl``, else the newest ``*-<fingerprint[:8]>.jsonl``.

    The fallback matters on CI: a recreated runner has a new hostname (so a new ``machine_id``)
    but the same hardware fingerprint, which ``machine_id`` ends with.
    """
    info = machine.machine_info()
    found = baseline_for(results_dir, str(info["machine_id"]), str(info.get("fingerprint", "")))
    if found is not None:
        return found
    raise CompareInputError(
        f"no baseline for this machine ({info['machine_id']}): "
        f"{baseline_path(results_dir, str(info['machine_id']))} does not exist. Create one with "
        "`python -m harness run --suite <suite>` then `python -m harness baseline save`, "
        "or pass --baseline FILE"
    )


def load_sides(baseline: Path | None, current: Path, results_dir: Path) -> Sides:
    """Both sides; no ``baseline`` means :func:`find_baseline` (a missing one is an error)."""
    baseline = find_baseline(results_dir) if baseline is None else baseline
    machine_id = this_machine_id()
    return Sides(select_records(baseline, machine_id), select_records(current, machine_id))


def _machines(records: Iterable[RunRecord]) -> dict[str, str]:
    out = {}
    for r in records:
        m = r.machine or {}
        out[str(m.get("fingerprint", ""))] = (
            f"{m.get('machine_id', '?')} ({m.get('cpu_model', 'unknown CPU')})"
        )
    return out


def check_machines(sides: Sides, allow_other_machine: bool) -> None:
    """Refuse (:class:`CompareInputError`) paired runs whose machine fingerprints differ, unless allowed."""
    base, cur = group_ok(sides.baseline), group_ok(sides.current)
    paired = base.keys() & cur.keys()
    base_machines = _machines(r for k in paired for r in base[k])
    cur_machines = _machines(r for k in paired for r in cur[k])
    if len(base_machines | cur_machines) <= 1:
        return
    text = (
        f"baseline ran on {'; '.join(base_machines.values())}, current on {'; '.join(cur_machines.values())}"
    )
    if allow_other_machine:
        print(f"warning: {text}; comparing anyway (--allow-other-machine)", file=sys.stderr)
        return
    raise CompareInputError(
        f"machine fingerprints differ: {text}. Timings from different hardware are not comparable; "
        "save a baseline on this machine (`python -m harness baseline save`) or pass --allow-other-machine"
    )


def nothing_comparable(sides: Sides, unmatched: list[Unmatched]) -> str:
    """The message for a comparison with no pair on both sides, saying what each side holds."""
    lines = [
        "no comparable runs: no (task, impl, mode, device, config) has ok runs on both sides",
        f"  baseline: {sides.base.describe()}",
        f"  current:  {sides.cur.describe()}",
    ]
    lines += [f"  only in {u.present_in}: {u.key.label} - {u.reason}" for u in unmatched[:10]]
    lines += [
        f"  skipped {s.path}:{s.line}: {s.reason}" for s in (sides.base.skipped + sides.cur.skipped)[:5]
    ]
    return "\n".join(lines)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file and ``os.replace``: never a half-written file."""
    store.write_atomic(Path(path), text.encode("utf-8"), overwrite=True)


def _newest_run_file(results_dir: Path, machine_id: str) -> Path:
    folder = Path(results_dir) / store.RUNS_DIR / machine_id
    files = store.record_files(folder) if folder.is_dir() else []
    if not files:
        raise CompareInputError(
            f"no run files under {folder}; run a suite first (`python -m harness run --suite <suite>`) "
            "or pass --from FILE"
        )
    return files[-1]  # names start with the UTC time of the run


def _baseline_text(records: list[RunRecord]) -> str:
    ordered = sorted(records, key=lambda r: (pair_key(r), r.seed, r.created_at))
    return "".join(json.dumps(r.to_dict(), sort_keys=True, allow_nan=False) + "\n" for r in ordered)


def _archive(target: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    archive = target.with_name(f"{target.stem}.{stamp}.jsonl")
    store.write_atomic(archive, target.read_bytes(), overwrite=False)
    return archive


def save_baseline(results_dir: Path, source: Path | None) -> Path:
    """Store the ``ok`` records of ``source`` (default: this machine's newest run file) as
    ``<results>/baselines/<machine_id>.jsonl``; the previous baseline is kept as
    ``<machine_id>.<UTC time>.jsonl``. Returns the baseline's path.
    """
    source = Path(source) if source is not None else _newest_run_file(results_dir, this_machine_id())
    side = select_records(source)
    ok = [r for r in side.records if r.status == "ok"]
    if not ok:
        raise CompareInputError(f"no ok records in {source}; nothing to save as a baseline")
    ids = {str(r.machine.get("machine_id")) for r in ok if r.machine.get("machine_id")}
    if len(ids) > 1:
        raise CompareInputError(
            f"{source} holds runs of several machines ({', '.join(sorted(ids))}); pass one"
        )
    target = baseline_path(results_dir, ids.pop() if ids else this_machine_id())
    data = _baseline_text(ok).encode("utf-8")
    if target.exists() and target.read_bytes() == data:
        return target
    if target.exists():
        _archive(target)
    store.write_atomic(target, data, overwrite=True)
    return target
