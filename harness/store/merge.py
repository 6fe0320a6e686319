"""Merging the result trees of a plan's shards (CI-matrix jobs, cluster nodes) into one store.

Every record carries its plan's id (``provenance.plan_id``, a hash of the whole plan) and the
shard it ran in. Merging reads every ``*.jsonl`` under the given folders and writes, per machine,
one new run file through the store: nothing is written unless every line is a record of the
supported schema, all of one plan, and no ``run_id`` appears twice (the error names both files).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from harness.errors import UsageError
from harness.record.keys import machine_id
from harness.record.schema import READABLE_VERSIONS, RunRecord
from harness.store.runs import RecordWriter, record_files


def _read(path: Path) -> list[tuple[int, dict]]:
    lines = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            lines.append((number, json.loads(text)))
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}:{number} is not a JSON record ({exc}); nothing was merged") from exc
    return lines


def collect(sources: list[Path]) -> list[RunRecord]:
    """Every record under ``sources``, checked: one schema, one plan, no run twice."""
    seen: dict[str, Path] = {}
    plans: dict[str, Path] = {}
    records = []
    files = [f for source in sources for f in record_files(Path(source))]
    if not files:
        raise UsageError(f"no *.jsonl record files under {', '.join(map(str, sources))}")
    for path in files:
        for number, data in _read(path):
            version = data.get("schema_version") if isinstance(data, dict) else None
            if version not in READABLE_VERSIONS:
                readable = ", ".join(map(str, READABLE_VERSIONS))
                raise UsageError(
                    f"{path}:{number} has schema_version {version!r} (readable: {readable}): records of "
                    "another schema cannot be merged; nothing was merged"
                )
            record = RunRecord.from_dict(data)
            plan = str(record.provenance.get("plan_id") or "")
            plans.setdefault(plan, path)
            if record.run_id in seen:
                raise UsageError(
                    f"run {record.run_id} is in both {seen[record.run_id]} and {path}: a shard merged twice? "
                    "nothing was merged"
                )
            seen[record.run_id] = path
            records.append(record)
    if len(plans) > 1:
        listed = "; ".join(f"plan {p or '(none)'} in {f}" for p, f in plans.items())
        raise UsageError(f"these records come from different plans ({listed}); merge one plan's shards")
    return records


def merge(sources: list[Path], results_dir: Path, name: str = "merged") -> list[Path]:
    """Write the records of ``sources`` into ``results_dir``, one new run file per machine."""
    records = collect(sources)
    by_machine: dict[str, list[RunRecord]] = defaultdict(list)
    for record in records:
        by_machine[machine_id(record)].append(record)
    written = []
    for machine, mine in sorted(by_machine.items()):
        commits = sorted({r.git_commit for r in mine})
        writer = RecordWriter(results_dir, machine, commits[0] if len(commits) == 1 else "mixed", name)
        for record in mine:
            writer.append(record)
        written.append(writer.path)
    return written
