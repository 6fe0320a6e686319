"""The committed per-machine baselines: where they live, how one is found, and how one is saved.

A baseline is ``<results>/baselines/<machine_id>.jsonl``: the ``ok`` records of one chosen run,
one JSON object per line, sorted and with sorted keys so that a new baseline is a readable diff
when committed. Saving never loses the previous one: it is first copied to
``<machine_id>.<UTC time>.jsonl`` (created exclusively, never overwritten), then the new file is
written beside the old and renamed over it (:func:`harness.store.atomic.write_atomic`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import CompareInputError
from harness.record.keys import pair_key
from harness.record.schema import RunRecord
from harness.store.atomic import write_atomic
from harness.store.runs import newest_run_file, select_records

BASELINES_DIR = "baselines"


def baseline_path(results_dir: Path, machine_id: str) -> Path:
    """Where a machine's committed baseline lives: ``<results>/baselines/<machine_id>.jsonl``."""
    return Path(results_dir) / BASELINES_DIR / f"{machine_id}.jsonl"


def baseline_for(results_dir: Path, machine_id: str, fingerprint: str) -> Path | None:
    """The baseline of a machine: ``<machine_id>.jsonl``, else the newest ``*-<fingerprint[:8]>.jsonl``
    (same hardware under another hostname: a recreated CI runner); ``None`` when neither exists.
    """
    exact = baseline_path(results_dir, machine_id)
    if exact.exists():
        return exact
    same_hardware = list(exact.parent.glob(f"*-{fingerprint[:8]}.jsonl")) if fingerprint else []
    return max(same_hardware, key=lambda p: (p.stat().st_mtime, p.name)) if same_hardware else None


def find_baseline(results_dir: Path, machine_id: str, fingerprint: str) -> Path:
    """:func:`baseline_for`, or a :class:`CompareInputError` saying how to make one."""
    found = baseline_for(results_dir, machine_id, fingerprint)
    if found is not None:
        return found
    raise CompareInputError(
        f"no baseline for this machine ({machine_id}): {baseline_path(results_dir, machine_id)} does "
        "not exist. Create one with `python -m harness run --suite <suite>` then "
        "`python -m harness baseline save`, or pass --baseline FILE"
    )


def _baseline_text(records: list[RunRecord]) -> str:
    ordered = sorted(records, key=lambda r: (pair_key(r), r.seed, r.created_at))
    return "".join(json.dumps(r.to_dict(), sort_keys=True, allow_nan=False) + "\n" for r in ordered)


def _archive(target: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    archive = target.with_name(f"{target.stem}.{stamp}.jsonl")
    write_atomic(archive, target.read_bytes(), overwrite=False)
    return archive


def save_baseline(results_dir: Path, source: Path | None, machine_id: str) -> Path:
    """Store the ``ok`` records of ``source`` (default: ``machine_id``'s newest run file) as the
    baseline of the machine they ran on; the previous baseline is kept as
    ``<machine_id>.<UTC time>.jsonl``. Returns the baseline's path.
    """
    source = Path(source) if source is not None else newest_run_file(results_dir, machine_id)
    side = select_records(source)
    ok = [r for r in side.records if r.status == "ok"]
    if not ok:
        raise CompareInputError(f"no ok records in {source}; nothing to save as a baseline")
    ids = {str(r.machine.get("machine_id")) for r in ok if r.machine.get("machine_id")}
    if len(ids) > 1:
        raise CompareInputError(
            f"{source} holds runs of several machines ({', '.join(sorted(ids))}); pass one"
        )
    target = baseline_path(results_dir, ids.pop() if ids else machine_id)
    data = _baseline_text(ok).encode("utf-8")
    if target.exists() and target.read_bytes() == data:
        return target
    if target.exists():
        _archive(target)
    write_atomic(target, data, overwrite=True)
    return target
